import { PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/**
 * Put an item beside the logs (active marker, owner index entry, memory, turn): its attributes
 * plus keys and TTL (`expiresAt`, the table's retention from now). Unconditional.
 * @param what names the item in the error message, e.g. `memory`.
 * @throws StoreUnavailableError when DynamoDB fails.
 */
export async function putSideItem(
  table: Table,
  pk: string,
  sk: string,
  item: object,
  what: string,
): Promise<void> {
  try {
    await table.client.send(
      new PutItemCommand({
        TableName: table.tableName,
        Item: {
          pk: { S: pk },
          sk: { S: sk },
          ...marshall(item),
          expiresAt: { N: String(table.expiresAt()) },
        },
      }),
    );
  } catch (err) {
    throw toStoreError(`PutItem(${what})`, err);
  }
}

/**
 * The newest `limit` items of partition `pk` whose sort key starts with `prefix` (sort keys end
 * in a time), newest first, unmarshalled, expired items left out. One strongly consistent Query.
 * @param what names the items in the error message, e.g. `memory`.
 * @throws StoreUnavailableError when DynamoDB fails.
 */
export async function newestByPrefix(
  table: Table,
  pk: string,
  prefix: string,
  limit: number,
  what: string,
): Promise<Record<string, unknown>[]> {
  try {
    const out = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
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
      .filter((item) => !table.isExpired(item.expiresAt));
  } catch (err) {
    throw toStoreError(`Query(${what})`, err);
  }
}
