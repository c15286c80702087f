import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { EventInput } from "../../packages/events/index.ts";

/** A stage.progress event input of the analyzing stage, at `pct` percent. */
export const progress = (message: string, pct = 10): EventInput => ({
  type: "stage.progress",
  stage: "analyzing",
  attempt: 0,
  progress: pct,
  message,
  data: { note: message },
});

/** A run.completed event input. */
export const completed: EventInput = {
  type: "run.completed",
  progress: 100,
  message: "Done.",
  data: {
    answer: "42",
    models: ["m"],
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
    usageByStage: {},
    durationMs: 10,
  },
};

/** A run.failed event input. */
export const failed: EventInput = {
  type: "run.failed",
  progress: 100,
  message: "Failed.",
  data: { error: { code: "boom", message: "It broke." } },
};

/** Every raw item under a partition key (no paging needed for small tests). */
export async function partitionItems(
  client: DynamoDBClient,
  tableName: string,
  pk: string,
): Promise<Record<string, AttributeValue>[]> {
  const out = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: pk } },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}
