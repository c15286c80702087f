import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from "@aws-sdk/client-dynamodb";
import { toStoreError } from "./sdk-errors.ts";

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
