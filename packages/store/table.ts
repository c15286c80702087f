import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { toStoreError } from "./sdk-errors.ts";

/** Options of a {@link Table}. */
export interface TableOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long run, event and memory items live before TTL deletes them (seconds). */
  retentionSeconds: number;
  /** Clock, for tests (ms since epoch). Default `Date.now`. */
  now?: () => number;
}

/**
 * The single table as every item family sees it (docs/design.md, "The table"): the client and
 * table name each request goes to, the clock, and the TTL rules. Every item carries
 * `expiresAt` (epoch seconds) for TTL; reads treat an expired item as gone, because TTL deletes
 * only eventually.
 */
export class Table {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** How long items live before TTL deletes them (seconds). */
  readonly retentionSeconds: number;
  /** The clock (ms since epoch). A plain function, so it can be passed on unbound. */
  readonly now: () => number;

  constructor(options: TableOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.retentionSeconds = options.retentionSeconds;
    this.now = options.now ?? Date.now;
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
   * Every item a Query matches, following LastEvaluatedKey page by page (a Query page holds at
   * most 1 MB: DynamoDB developer guide, "Paginating table query results").
   * @param what names the read in a {@link StoreUnavailableError}'s message (e.g. `Query(active)`).
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async queryAll(
    input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
    what: string,
  ): Promise<Array<Record<string, AttributeValue>>> {
    const items: Array<Record<string, AttributeValue>> = [];
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            ...input,
            TableName: this.tableName,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw toStoreError(what, err);
    }
    return items;
  }
}

/**
 * Create the single table (pk/sk strings, on-demand) for the local stack and tests, and wait
 * until it is ACTIVE. On AWS the table comes from infra/ instead. Idempotent: an existing
 * table is left as it is. TTL on `expiresAt` is enabled by infra on AWS; dynalite has no
 * UpdateTimeToLive (docs/platform-notes.md, "dynalite"), so it is not attempted here.
 * @throws StoreUnavailableError when DynamoDB refuses.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw toStoreError("CreateTable", err);
  }
  for (let i = 0; i < 200; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw toStoreError("DescribeTable", new Error(`table ${tableName} did not become ACTIVE`));
}
