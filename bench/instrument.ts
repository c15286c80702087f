import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/**
 * Store requests as the SDK client sent them, by kind. `tailReads` are the stream's
 * "events after my cursor" Queries; `emptyReads` are reads that returned no item. Capacity
 * units follow DynamoDB's on-demand rules as an approximation from the request and response
 * sizes (JSON of the marshalled items): a write costs 1 WRU per started KB of the item; a
 * strongly consistent read costs 1 RRU per started 4 KB returned, at least 1.
 */
export interface StoreCounts {
  writes: number;
  reads: number;
  emptyReads: number;
  tailReads: number;
  eventPuts: number;
  wru: number;
  rru: number;
  byCommand: Record<string, number>;
  /** Read requests by partition key (`:pk` of a Query, `Key.pk` of a GetItem), e.g. `RUN#<runId>`. */
  readsByPk: Record<string, number>;
}

/** A live counter: read `counts` at any time, `reset()` between scenarios. */
export interface StoreCounter {
  readonly counts: StoreCounts;
  reset(): void;
}

const zero = (): StoreCounts => ({
  writes: 0,
  reads: 0,
  emptyReads: 0,
  tailReads: 0,
  eventPuts: 0,
  wru: 0,
  rru: 0,
  byCommand: {},
  readsByPk: {},
});

const WRITES = new Set(["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand", "BatchWriteItemCommand"]);
const READS = new Set(["GetItemCommand", "QueryCommand", "ScanCommand", "BatchGetItemCommand"]);

const bytes = (value: unknown) => (value === undefined ? 0 : JSON.stringify(value).length);

/**
 * Count every request `client` sends, at the SDK client (a middleware at the `initialize`
 * step sees the command name and input; its result the output), so the counts are exactly
 * what DynamoDB would bill for, whoever in the process sent them.
 */
export function countStoreRequests(client: DynamoDBClient): StoreCounter {
  const counter = { counts: zero(), reset: () => Object.assign(counter.counts, zero()) };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "Unknown";
      const input = args.input as {
        Item?: { sk?: { S?: string } };
        KeyConditionExpression?: string;
        ScanIndexForward?: boolean;
        ExpressionAttributeValues?: { ":pk"?: { S?: string } };
        Key?: { pk?: { S?: string } };
      };
      const result = await next(args);
      const output = result.output as { Item?: unknown; Items?: unknown[]; Count?: number };
      const c = counter.counts;
      c.byCommand[name] = (c.byCommand[name] ?? 0) + 1;
      if (WRITES.has(name)) {
        c.writes++;
        c.wru += Math.max(1, Math.ceil(bytes(input.Item ?? input) / 1024));
        if (name === "PutItemCommand" && input.Item?.sk?.S?.startsWith("EVT#")) c.eventPuts++;
      } else if (READS.has(name)) {
        c.reads++;
        const items = output.Items ?? (output.Item ? [output.Item] : []);
        c.rru += Math.max(1, Math.ceil(bytes(items) / 4096));
        if (items.length === 0) c.emptyReads++;
        const pk = input.ExpressionAttributeValues?.[":pk"]?.S ?? input.Key?.pk?.S;
        if (pk !== undefined) c.readsByPk[pk] = (c.readsByPk[pk] ?? 0) + 1;
        // The stream's tail: ascending Query between the cursor and the last possible seq.
        if (
          name === "QueryCommand" &&
          input.ScanIndexForward !== false &&
          /BETWEEN/.test(input.KeyConditionExpression ?? "")
        )
          c.tailReads++;
      }
      return result;
    },
    { step: "initialize", name: "stagecastBenchCounter" },
  );
  return counter;
}
