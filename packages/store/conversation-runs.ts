import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { CONVERSATION_RUN_SK, conversationPk } from "./keys.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/**
 * Each conversation's newest run: one item per owner and conversation, in the conversation's
 * partition (`pk = CONV#<owner>#<conversationId>`, `sk = RUN`, beside its `TURN#…` items),
 * holding the run id. It is how an AI SDK chat (whose id is the conversation id) finds the run
 * to resume (GET /ai-sdk/chat/{id}/stream, docs/api.md §10): one GetItem, whatever the
 * conversation's length. Items live the table's retention (TTL). Throws only StoreError
 * subclasses.
 */
export class ConversationRuns {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /**
   * Record `runId` as the conversation's newest run: one conditional put that succeeds when
   * there is no item, when the item's run is older (run ids are ULIDs: their order is their
   * creation order), or when it has expired. Two racing starts thus leave the newer run.
   * @returns true when the item now names `runId`; false when it already named a newer run.
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async point(owner: string, conversationId: string, runId: string): Promise<boolean> {
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            pk: { S: conversationPk(owner, conversationId) },
            sk: { S: CONVERSATION_RUN_SK },
            runId: { S: runId },
            expiresAt: { N: String(this.table.expiresAt()) },
          },
          ConditionExpression: "attribute_not_exists(pk) OR runId <= :runId OR expiresAt <= :now",
          ExpressionAttributeValues: {
            ":runId": { S: runId },
            ":now": { N: String(Math.floor(this.table.now() / 1000)) },
          },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw toStoreError("PutItem(conversation run)", err);
    }
  }

  /**
   * The conversation's newest run id, or undefined (none recorded, or expired). One strongly
   * consistent GetItem: a resume right after a start must see it.
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async newest(owner: string, conversationId: string): Promise<string | undefined> {
    try {
      const { Item } = await this.table.client.send(
        new GetItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: conversationPk(owner, conversationId) }, sk: { S: CONVERSATION_RUN_SK } },
          ConsistentRead: true,
        }),
      );
      const expiresAt = Item?.expiresAt?.N === undefined ? undefined : Number(Item.expiresAt.N);
      if (!Item || this.table.isExpired(expiresAt)) return undefined;
      return Item.runId?.S;
    } catch (err) {
      throw toStoreError("GetItem(conversation run)", err);
    }
  }
}
