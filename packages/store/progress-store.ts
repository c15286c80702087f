import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { isTerminalType, type RunEvent, RunEventSchema, STATUS_OF_TERMINAL } from "../events/index.ts";
import {
  InvalidEventError,
  ItemTooLargeError,
  RunExistsError,
  RunNotFoundError,
  StoreError,
} from "./errors.ts";
import {
  conversationPk,
  eventSk,
  MAX_SEQ,
  memorySk,
  ownerSegment,
  projectPk,
  RUN_SK,
  runPk,
  turnSk,
} from "./keys.ts";
import { RunLog } from "./run-log.ts";
import { ANONYMOUS, type RunInput, type RunPatch, type RunRecord, type RunView } from "./run-record.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import { RunSlots } from "./slots.ts";

/**
 * Largest serialized event body the store writes, in bytes: DynamoDB items are at most
 * 400 KB including attribute names (DynamoDB quotas); 350,000 leaves room for keys and
 * attributes. Larger payloads must be chunked by the writer.
 */
export const MAX_EVENT_BYTES = 350_000;

/** Partition of the active-run markers. */
const ACTIVE_PK = "ACTIVE";
/** Partition of an owner's run index. */
const ownerPk = (owner: string) => `OWNER#${owner}`;

/** Largest page {@link ProgressStore.readEvents} returns (events). */
export const MAX_PAGE = 1000;

/** Options of {@link ProgressStore}. */
export interface ProgressStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long run, event and memory items live before TTL deletes them (seconds). */
  retentionSeconds: number;
  /** Clock, for tests (ms since epoch). */
  now?: () => number;
  /**
   * Called once for each event this store wrote (not for a put that found the event already
   * there): where metrics count events appended and runs started/ended. Must not throw.
   */
  onEventStored?: (event: RunEvent) => void;
}

/** One page of a run's log. `hasMore` is true when DynamoDB stopped early (Limit or its 1 MB page cap). */
export interface EventPage {
  events: RunEvent[];
  hasMore: boolean;
}

/** A memory item written by a run's memory stage (`pk = PROJECT#<owner>#<projectId>`). */
export interface MemoryItem {
  projectId: string;
  /** The principal whose project it is (default `anonymous`). */
  owner?: string;
  runId: string;
  ts: string;
  summary: string;
}

/** One finished turn of a conversation (`pk = CONV#<conversationId>`), written by the memory stage. */
export interface TurnItem {
  conversationId: string;
  /** The principal whose conversation it is (default `anonymous`). */
  owner?: string;
  runId: string;
  ts: string;
  question: string;
  /** The answer, clipped by the writer. */
  answer: string;
}

/**
 * The durable progress log over DynamoDB (single table, docs/design.md "The table"). Every item
 * carries `expiresAt` (epoch seconds) for TTL. Throws only {@link StoreError} subclasses.
 */
export class ProgressStore {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly retentionSeconds: number;
  readonly now: () => number;
  readonly onEventStored: (event: RunEvent) => void;

  constructor(options: ProgressStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.retentionSeconds;
    this.now = options.now ?? Date.now;
    this.onEventStored = options.onEventStored ?? (() => {});
  }

  /** TTL value for an item written now (epoch seconds). */
  expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }

  /** True when a TTL value (epoch seconds) has passed: the item must not be read as live. */
  isExpired(expiresAt: number | undefined): boolean {
    return expiresAt !== undefined && expiresAt * 1000 <= this.now();
  }

  /**
   * Create the run item with status `queued`.
   * @throws RunExistsError when the id is taken (the write is conditional, so nothing is overwritten).
   */
  async createRun(runId: string, input: RunInput, owner = ANONYMOUS, slot?: number): Promise<RunRecord> {
    const ts = new Date(this.now()).toISOString();
    const record: RunRecord = {
      runId,
      owner,
      status: "queued",
      question: input.question,
      ...(input.projectId === undefined ? {} : { projectId: input.projectId }),
      ...(input.conversationId === undefined ? {} : { conversationId: input.conversationId }),
      createdAt: ts,
      updatedAt: ts,
      expiresAt: this.expiresAt(),
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: runPk(runId) },
            sk: { S: RUN_SK },
            ...marshall(record, { removeUndefinedValues: true }),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new RunExistsError(runId);
      throw toStoreError("PutItem(run)", err);
    }
    await this.#putSideItem(
      ACTIVE_PK,
      runId,
      { runId, owner, createdAt: ts, ...(slot === undefined ? {} : { slot }) },
      "active marker",
    );
    // The owner's index, newest last in key order (run ids are ULIDs), for GET /runs.
    await this.#putSideItem(ownerPk(owner), `RUN#${runId}`, { runId, createdAt: ts }, "owner index");
    return record;
  }

  /**
   * Runs that have not ended, as far as the markers know (`pk = ACTIVE`, `sk = <runId>`, written
   * by createRun, removed by {@link unmarkActive}). A marker is a hint: the log decides whether
   * a run ended. One partition; enough for one process or a modest deployment.
   */
  async listActive(): Promise<Array<{ runId: string; createdAt: string }>> {
    const out: Array<{ runId: string; createdAt: string }> = [];
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": { S: ACTIVE_PK } },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? [])
          out.push({ runId: item.runId?.S ?? "", createdAt: item.createdAt?.S ?? "" });
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw toStoreError("Query(active)", err);
    }
    return out;
  }

  /** The ids of `owner`'s newest runs, newest first, at most `limit`. */
  async listRunIds(owner: string, limit: number): Promise<string[]> {
    const items = await this.#newestByPrefix(ownerPk(owner), "RUN#", limit, "owner index");
    return items.map((i) => String(i.runId));
  }

  /** Remove a run's active marker (the run ended). Removing a missing marker is fine. */
  async unmarkActive(runId: string): Promise<void> {
    const key = { pk: { S: ACTIVE_PK }, sk: { S: runId } };
    try {
      const { Attributes: marker } = await this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: key, ReturnValues: "ALL_OLD" }),
      );
      // The run's slot (active-run limit) goes with its marker.
      const slot = marker?.slot?.N;
      if (slot !== undefined)
        await new RunSlots(this).release(marker?.owner?.S ?? ANONYMOUS, Number(slot), runId);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw toStoreError("DeleteItem(active)", err);
    }
  }

  /** The run item, or undefined when there is none. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: runPk(runId) }, sk: { S: RUN_SK } },
          ConsistentRead: true,
        }),
      ));
    } catch (err) {
      throw toStoreError("GetItem(run)", err);
    }
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = unmarshall(item);
    const record = rest as RunRecord;
    // TTL deletes expired items only eventually (typically within days): an expired run is gone.
    if (this.isExpired(record.expiresAt)) return undefined;
    return record;
  }

  /**
   * Change fields of an existing run item and bump `updatedAt`.
   * @throws RunNotFoundError when there is no such run (the update is conditional: no stray item is created).
   */
  async updateRun(runId: string, patch: RunPatch): Promise<void> {
    const values: Record<string, unknown> = { ":u": new Date(this.now()).toISOString() };
    const names: Record<string, string> = { "#updatedAt": "updatedAt" };
    const sets = ["#updatedAt = :u"];
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: runPk(runId) }, sk: { S: RUN_SK } },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new RunNotFoundError(runId);
      throw toStoreError("UpdateItem(run)", err);
    }
  }

  /** The run item merged with its log's last event, or undefined when there is no such run. */
  async viewRun(runId: string): Promise<RunView | undefined> {
    const [record, last] = await Promise.all([this.getRun(runId), this.lastEvent(runId)]);
    if (!record) return undefined;
    return {
      ...record,
      // The log is the truth: a terminal event decides the status even if the item lags.
      status: last && isTerminalType(last.type) ? STATUS_OF_TERMINAL[last.type] : record.status,
      ...(last?.stage === undefined ? {} : { stage: last.stage }),
      progress: last?.progress ?? 0,
      lastSeq: last?.seq ?? 0,
      ...(last === undefined ? {} : { message: last.message }),
    };
  }

  /** An appender for one run's log (see {@link RunLog}). */
  log(runId: string): RunLog {
    return new RunLog(this, runId);
  }

  /**
   * Events with `seq > after`, oldest first, at most `limit` (clamped to 1..{@link MAX_PAGE}).
   * Reads are strongly consistent so a tail never misses an acknowledged append.
   * @throws RangeError when `after` is not a non-negative integer (a programming error: HTTP cursors are validated first).
   */
  async readEvents(runId: string, after: number, limit = 100): Promise<EventPage> {
    if (!Number.isInteger(after) || after < 0)
      throw new RangeError(`after must be a non-negative integer, got ${after}`);
    if (after >= MAX_SEQ) return { events: [], hasMore: false };
    const clamped = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE);
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": { S: runPk(runId) },
            ":from": { S: eventSk(after + 1) },
            ":to": { S: eventSk(MAX_SEQ) },
          },
          ConsistentRead: true,
          Limit: clamped,
        }),
      );
      const events = (out.Items ?? []).map(parseEventItem);
      return { events, hasMore: out.LastEvaluatedKey !== undefined && events.length > 0 };
    } catch (err) {
      throw toStoreError("Query(events)", err);
    }
  }

  /** The newest event of a run's log (strongly consistent), or undefined for an empty log. */
  async lastEvent(runId: string): Promise<RunEvent | undefined> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": { S: runPk(runId) },
            ":from": { S: eventSk(1) },
            ":to": { S: eventSk(MAX_SEQ) },
          },
          ConsistentRead: true,
          ScanIndexForward: false,
          Limit: 1,
        }),
      );
      const item = out.Items?.[0];
      return item ? parseEventItem(item) : undefined;
    } catch (err) {
      throw toStoreError("Query(last event)", err);
    }
  }

  /**
   * Write event `event.seq` only if that seq is free (`attribute_not_exists(sk)`).
   * @returns false when another writer owns the seq (nothing was written); true when it was
   *   written, including by an earlier attempt of this same request whose response was lost.
   * @throws ItemTooLargeError when the serialized event exceeds {@link MAX_EVENT_BYTES}.
   * @throws InvalidEventError when the event does not match RunEventSchema.
   */
  async putEventIfAbsent(event: RunEvent): Promise<boolean> {
    const parsed = RunEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidEventError(`invalid ${event.type} event: ${parsed.error.message}`);
    const body = JSON.stringify(parsed.data);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_EVENT_BYTES) throw new ItemTooLargeError(bytes);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: runPk(event.runId) },
            sk: { S: eventSk(event.seq) },
            type: { S: event.type },
            body: { S: body },
            expiresAt: { N: String(this.expiresAt()) },
          },
          ConditionExpression: "attribute_not_exists(sk)",
        }),
      );
      this.onEventStored(parsed.data);
      return true;
    } catch (err) {
      if (isConditionFailed(err)) {
        // A lost acknowledgement of our own put: it was stored by this call after all.
        const ours = await this.#isStored(event, body);
        if (ours) this.onEventStored(parsed.data);
        return ours;
      }
      throw toStoreError("PutItem(event)", err);
    }
  }

  /**
   * After a failed condition: is the item at `event.seq` this very event? It is when the put
   * landed but its response was lost and the SDK retried it (same request, byte-identical body,
   * `ts` included); then the append succeeded and must not be written again at seq + 1.
   * (ReturnValuesOnConditionCheckFailure would save this read; dynalite does not support it.)
   */
  async #isStored(event: RunEvent, body: string): Promise<boolean> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: runPk(event.runId) }, sk: { S: eventSk(event.seq) } },
          ConsistentRead: true,
        }),
      );
      return Item?.body?.S === body;
    } catch (err) {
      throw toStoreError("GetItem(event)", err);
    }
  }

  /** Store a memory summary under its project (with TTL). */
  putMemory(item: MemoryItem): Promise<void> {
    return this.#putSideItem(
      projectPk(item.owner ?? ANONYMOUS, item.projectId),
      memorySk(item.ts, item.runId),
      item,
      "memory",
    );
  }

  /** A project's memory items, newest first, at most `limit`. */
  async listMemories(projectId: string, limit: number, owner = ANONYMOUS): Promise<MemoryItem[]> {
    const items = await this.#newestByPrefix(projectPk(owner, projectId), "MEM#", limit, "memory");
    return items.map(
      ({ projectId: p, runId, ts, summary }) => ({ projectId: p, runId, ts, summary }) as MemoryItem,
    );
  }

  /** Store a finished conversation turn (with TTL). */
  putTurn(item: TurnItem): Promise<void> {
    return this.#putSideItem(
      conversationPk(item.owner ?? ANONYMOUS, item.conversationId),
      turnSk(item.ts, item.runId),
      item,
      "turn",
    );
  }

  /** A conversation's newest `limit` turns, returned oldest first (the order a prompt wants). */
  async listTurns(conversationId: string, limit: number, owner = ANONYMOUS): Promise<TurnItem[]> {
    const items = await this.#newestByPrefix(conversationPk(owner, conversationId), "TURN#", limit, "turns");
    return items
      .map(
        ({ conversationId: c, runId, ts, question, answer }) =>
          ({ conversationId: c, runId, ts, question, answer }) as TurnItem,
      )
      .reverse();
  }

  /**
   * Claim an idempotency key for a new run: one conditional put of
   * `IDEM#<caller>#<key>` / `IDEM` holding the run id and the request's hash, living
   * `ttlSeconds` (TTL). A claim whose time has passed counts as free even before TTL deletes it.
   * @returns `{ claimed: true }` when this call owns the key, otherwise the earlier claim.
   */
  async claimIdempotencyKey(
    caller: string,
    key: string,
    claim: { runId: string; requestHash: string },
    ttlSeconds: number,
  ): Promise<{ claimed: true } | { claimed: false; runId: string; requestHash: string }> {
    const pk = `IDEM#${ownerSegment(caller)}#${key}`;
    const nowSeconds = Math.floor(this.now() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: pk },
            sk: { S: "IDEM" },
            runId: { S: claim.runId },
            requestHash: { S: claim.requestHash },
            expiresAt: { N: String(nowSeconds + ttlSeconds) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR expiresAt <= :now",
          ExpressionAttributeValues: { ":now": { N: String(nowSeconds) } },
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw toStoreError("PutItem(idempotency)", err);
    }
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: pk }, sk: { S: "IDEM" } },
          ConsistentRead: true,
        }),
      );
      return {
        claimed: false,
        runId: Item?.runId?.S ?? claim.runId,
        requestHash: Item?.requestHash?.S ?? "",
      };
    } catch (err) {
      throw toStoreError("GetItem(idempotency)", err);
    }
  }

  /** Delete an idempotency claim (the request it guarded failed before starting anything). */
  async releaseIdempotencyKey(caller: string, key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `IDEM#${ownerSegment(caller)}#${key}` }, sk: { S: "IDEM" } },
        }),
      );
    } catch (err) {
      throw toStoreError("DeleteItem(idempotency)", err);
    }
  }

  /** Put an item beside the logs (memory, turn): its attributes plus keys and TTL. */
  async #putSideItem(pk: string, sk: string, item: object, what: string): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: { S: pk },
            sk: { S: sk },
            ...marshall(item),
            expiresAt: { N: String(this.expiresAt()) },
          },
        }),
      );
    } catch (err) {
      throw toStoreError(`PutItem(${what})`, err);
    }
  }

  /** The newest `limit` items of partition `pk` whose sort key starts with `prefix` (sort keys end in a time). */
  async #newestByPrefix(
    pk: string,
    prefix: string,
    limit: number,
    what: string,
  ): Promise<Record<string, unknown>[]> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": { S: pk }, ":prefix": { S: prefix } },
          ScanIndexForward: false,
          Limit: Math.max(1, limit),
          // The next run must see the memory or turn the previous run just wrote.
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? [])
        .map((item) => unmarshall(item))
        .filter((item) => !this.isExpired(item.expiresAt));
    } catch (err) {
      throw toStoreError(`Query(${what})`, err);
    }
  }
}

function parseEventItem(item: Record<string, AttributeValue>): RunEvent {
  // Bodies were validated against RunEventSchema when written; parsing again on every read
  // of a hot tail would cost CPU for no safety gain.
  return JSON.parse(item.body?.S ?? "null") as RunEvent;
}
