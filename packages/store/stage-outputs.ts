import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { ItemTooLargeError, StageOutputMissingError } from "./errors.ts";
import { runPk, STAGE_OUTPUT_SK_PREFIX, stageOutputChunkSk, stageOutputSk } from "./keys.ts";
import { putSideItem } from "./side-items.ts";
import type { Table } from "./table.ts";

/**
 * Largest chunk of a stored output, in bytes (UTF-8): DynamoDB items are at most 400 KB
 * including attribute names and values (DynamoDB quotas, "Item size"); 350,000 leaves room for
 * the keys and the other attributes, as for events (MAX_EVENT_BYTES).
 */
export const STAGE_OUTPUT_CHUNK_BYTES = 350_000;

/**
 * Largest output the store keeps, in bytes (UTF-8): 4 MiB (4,194,304), at most 12 chunks. A
 * limit of this project, not of DynamoDB: it bounds what a later stage reads before it runs
 * (about 4 strongly consistent Query pages of 1 MB) and what one stage's function holds.
 */
export const STAGE_OUTPUT_MAX_BYTES = 4 * 1024 * 1024;

/** Where one run of a stage stores its output: the stage, loops taken before it (`pass`) and its attempt. */
export interface StageOutputKey {
  stage: string;
  /** How many loops the run took before this stage ran (the sum of `state.loops`). */
  pass: number;
  /** The stage's retry count (0 on the first try). */
  attempt: number;
}

/** What {@link StageOutputs.put} stored: the output's sort key, its size in bytes (UTF-8) and its chunk count. */
export interface StoredStageOutput {
  sk: string;
  bytes: number;
  chunks: number;
}

/**
 * Split `text` into pieces of at most `max` bytes of UTF-8 each, never inside a character
 * (a cut moves back past UTF-8 continuation bytes). The empty text gives no pieces.
 * @throws RangeError when `max` is under 4 (a character may take 4 bytes).
 */
export function splitUtf8(text: string, max: number): string[] {
  if (!(max >= 4)) throw new RangeError(`max must be at least 4 bytes, not ${max}`);
  const buf = Buffer.from(text, "utf8");
  const parts: string[] = [];
  let from = 0;
  while (from < buf.length) {
    let to = Math.min(buf.length, from + max);
    // biome-ignore lint/style/noNonNullAssertion: to < buf.length here, so the byte exists
    while (to < buf.length && to > from && (buf[to]! & 0xc0) === 0x80) to--;
    parts.push(buf.toString("utf8", from, to));
    from = to;
  }
  return parts;
}

/**
 * Stage outputs too large for the execution's state (packages/sdk keeps a reference there
 * instead): one string body per output, in the run's partition (`pk = RUN#<runId>`), split
 * into items `sk = OUT#<stage>#<pass>#<attempt>#<chunk, 4 digits>` of at most
 * {@link STAGE_OUTPUT_CHUNK_BYTES} each; every chunk carries the output's `bytes` and `chunks`
 * and `expiresAt` (the table's retention, like the run's other items). Throws only StoreError
 * subclasses.
 */
export class StageOutputs {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /**
   * Store `body` (any string; the SDK writes an output's JSON) for one run of a stage.
   * Unconditional puts, one per chunk, so a repeated call with the same key writes the same
   * items again.
   * @returns the sort key to read it back with, its size in bytes (UTF-8) and its chunk count.
   * @throws ItemTooLargeError when `body` exceeds {@link STAGE_OUTPUT_MAX_BYTES} (nothing written).
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async put(runId: string, key: StageOutputKey, body: string): Promise<StoredStageOutput> {
    const bytes = Buffer.byteLength(body, "utf8");
    if (bytes > STAGE_OUTPUT_MAX_BYTES) throw new ItemTooLargeError(bytes);
    const sk = stageOutputSk(key.stage, key.pass, key.attempt);
    const parts = splitUtf8(body, STAGE_OUTPUT_CHUNK_BYTES);
    const chunks = Math.max(1, parts.length);
    const items = parts.length > 0 ? parts : [""];
    await Promise.all(
      items.map((part, i) =>
        putSideItem(
          this.table,
          runPk(runId),
          stageOutputChunkSk(sk, i),
          { body: part, bytes, chunks },
          "stage output",
        ),
      ),
    );
    return { sk, bytes, chunks };
  }

  /**
   * The body stored under `sk` for the run: its chunks, read with strongly consistent Query
   * pages (1 MB each, so one request for up to 2 chunks), joined in order.
   * @throws StageOutputMissingError when `sk` is not a stage output's key, or the output is
   *   gone, expired or incomplete.
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async get(runId: string, sk: string): Promise<string> {
    if (!sk.startsWith(STAGE_OUTPUT_SK_PREFIX) || sk.endsWith("#")) {
      throw new StageOutputMissingError(runId, sk, "not a stage output key");
    }
    const items = await this.#chunks(runId, sk);
    const first = items[0];
    if (!first) throw new StageOutputMissingError(runId, sk, "no item");
    const chunks = Number(first.chunks?.N);
    const bytes = Number(first.bytes?.N);
    // Items past `chunks` can only be left from an earlier, longer write of the same key.
    const own = items.slice(0, chunks);
    if (own.some((item) => this.table.isExpired(Number(item.expiresAt?.N)))) {
      throw new StageOutputMissingError(runId, sk, "expired");
    }
    const body = own.map((item) => item.body?.S ?? "").join("");
    if (own.length !== chunks || Buffer.byteLength(body, "utf8") !== bytes) {
      throw new StageOutputMissingError(runId, sk, `${own.length} of ${chunks} chunks`);
    }
    return body;
  }

  /** Every chunk item of output `sk`, in sort-key order (a strongly consistent Query, paged). */
  #chunks(runId: string, sk: string): Promise<Array<Record<string, AttributeValue>>> {
    return this.table.queryAll(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": { S: runPk(runId) }, ":prefix": { S: `${sk}#` } },
        // The next stage must see the output this stage just wrote.
        ConsistentRead: true,
      },
      "Query(stage output)",
    );
  }
}
