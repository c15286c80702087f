import { DeleteItemCommand, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { IDEMPOTENCY_SK, idempotencyPk } from "./keys.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/** What a claim records: the run the key started and a hash of the request that claimed it. */
export interface IdempotencyClaim {
  runId: string;
  requestHash: string;
}

/**
 * The idempotency keys: one claim per caller and key (`pk = IDEM#<caller>#<key>`,
 * `sk = IDEM`), living the TTL the claimer asks for rather than the table's retention.
 * Throws only StoreError subclasses.
 */
export class IdempotencyKeys {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /**
   * Claim an idempotency key for a new run: one conditional put of
   * `IDEM#<caller>#<key>` / `IDEM` holding the run id and the request's hash, living
   * `ttlSeconds` (TTL). A claim whose time has passed counts as free even before TTL deletes it.
   * @returns `{ claimed: true }` when this call owns the key, otherwise the earlier claim.
   */
  async claim(
    caller: string,
    key: string,
    claim: IdempotencyClaim,
    ttlSeconds: number,
  ): Promise<{ claimed: true } | ({ claimed: false } & IdempotencyClaim)> {
    const pk = idempotencyPk(caller, key);
    const nowSeconds = Math.floor(this.table.now() / 1000);
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            pk: { S: pk },
            sk: { S: IDEMPOTENCY_SK },
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
      const { Item } = await this.table.client.send(
        new GetItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: pk }, sk: { S: IDEMPOTENCY_SK } },
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
  async release(caller: string, key: string): Promise<void> {
    try {
      await this.table.client.send(
        new DeleteItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: idempotencyPk(caller, key) }, sk: { S: IDEMPOTENCY_SK } },
        }),
      );
    } catch (err) {
      throw toStoreError("DeleteItem(idempotency)", err);
    }
  }
}
