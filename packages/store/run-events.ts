import { type AttributeValue, GetItemCommand, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { type RunEvent, RunEventSchema } from "../events/index.ts";
import { InvalidEventError, ItemTooLargeError } from "./errors.ts";
import { eventSk, MAX_SEQ, runPk } from "./keys.ts";
import { RunLog } from "./run-log.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/**
 * Largest serialized event body the store writes, in bytes: DynamoDB items are at most
 * 400 KB including attribute names (DynamoDB quotas); 350,000 leaves room for keys and
 * attributes. Larger payloads must be chunked by the writer.
 */
export const MAX_EVENT_BYTES = 350_000;

/** Largest page {@link RunEvents.read} returns (events). */
export const MAX_PAGE = 1000;

/** One page of a run's log. `hasMore` is true when DynamoDB stopped early (Limit or its 1 MB page cap). */
export interface EventPage {
  events: RunEvent[];
  hasMore: boolean;
}

/**
 * The run logs: each run's events (`pk = RUN#<runId>`, `sk = EVT#<seq>`, the validated event
 * JSON in `body`). Appends go through {@link RunEvents.log}; reads are strongly consistent.
 * Throws only StoreError subclasses (and RangeError for a bad cursor, a programming error).
 */
export class RunEvents {
  readonly table: Table;
  /**
   * Called once for each event this family wrote (not for a put that found the event already
   * there): where metrics count events appended and runs started/ended. Must not throw.
   */
  readonly onEventStored: (event: RunEvent) => void;

  constructor(table: Table, onEventStored: (event: RunEvent) => void = () => {}) {
    this.table = table;
    this.onEventStored = onEventStored;
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
  async read(runId: string, after: number, limit = 100): Promise<EventPage> {
    if (!Number.isInteger(after) || after < 0)
      throw new RangeError(`after must be a non-negative integer, got ${after}`);
    if (after >= MAX_SEQ) return { events: [], hasMore: false };
    const clamped = Math.min(Math.max(1, Math.floor(limit)), MAX_PAGE);
    try {
      const out = await this.#logFrom(runId, after + 1, { Limit: clamped });
      const events = (out.Items ?? []).map(parseEventItem);
      return { events, hasMore: out.LastEvaluatedKey !== undefined && events.length > 0 };
    } catch (err) {
      throw toStoreError("Query(events)", err);
    }
  }

  /**
   * One strongly consistent Query page of the run's events from seq `from` (the event sort keys
   * `EVT#…`, so the run item and other items of the run's partition are never read).
   */
  #logFrom(runId: string, from: number, page: { Limit: number; ScanIndexForward?: boolean }) {
    return this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": { S: runPk(runId) },
          ":from": { S: eventSk(from) },
          ":to": { S: eventSk(MAX_SEQ) },
        },
        ConsistentRead: true,
        ...page,
      }),
    );
  }

  /** The newest event of a run's log (strongly consistent), or undefined for an empty log. */
  async last(runId: string): Promise<RunEvent | undefined> {
    try {
      const out = await this.#logFrom(runId, 1, { ScanIndexForward: false, Limit: 1 });
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
  async putIfAbsent(event: RunEvent): Promise<boolean> {
    const parsed = RunEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidEventError(`invalid ${event.type} event: ${parsed.error.message}`);
    const body = JSON.stringify(parsed.data);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_EVENT_BYTES) throw new ItemTooLargeError(bytes);
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            pk: { S: runPk(event.runId) },
            sk: { S: eventSk(event.seq) },
            type: { S: event.type },
            body: { S: body },
            expiresAt: { N: String(this.table.expiresAt()) },
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
      const { Item } = await this.table.client.send(
        new GetItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: runPk(event.runId) }, sk: { S: eventSk(event.seq) } },
          ConsistentRead: true,
        }),
      );
      return Item?.body?.S === body;
    } catch (err) {
      throw toStoreError("GetItem(event)", err);
    }
  }
}

function parseEventItem(item: Record<string, AttributeValue>): RunEvent {
  // Bodies were validated against RunEventSchema when written; parsing again on every read
  // of a hot tail would cost CPU for no safety gain.
  return JSON.parse(item.body?.S ?? "null") as RunEvent;
}
