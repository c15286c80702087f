import { DeleteItemCommand, GetItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ItemTooLargeError, StageOutputMissingError } from "../../../packages/store/errors.ts";
import { openStore, type Store } from "../../../packages/store/index.ts";
import { runPk } from "../../../packages/store/keys.ts";
import {
  STAGE_OUTPUT_CHUNK_BYTES,
  STAGE_OUTPUT_MAX_BYTES,
  splitUtf8,
} from "../../../packages/store/stage-outputs.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

const TABLE = "stagecast-test";
const RETENTION = 7 * 24 * 3600;
const NOW = Date.UTC(2025, 0, 1);

let dynamo: TestDynamo;
let store: Store;

beforeAll(async () => {
  dynamo = await startTestDynamo(TABLE, RETENTION);
  store = openStore({ client: dynamo.client, tableName: TABLE, retentionSeconds: RETENTION, now: () => NOW });
});

afterAll(async () => {
  await dynamo?.close();
});

/** Every item stored under the run's partition whose sort key starts with `prefix`. */
async function rawItems(runId: string, prefix: string) {
  const out = await dynamo.client.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": { S: runPk(runId) }, ":p": { S: prefix } },
    }),
  );
  return out.Items ?? [];
}

describe("stage outputs (store.stageOutputs)", () => {
  it("round-trips a small output as one item under the run's partition, with the run's TTL", async () => {
    const runId = ulid();
    const body = JSON.stringify({ text: "hello", n: 1 });
    const stored = await store.stageOutputs.put(runId, { stage: "gather", pass: 0, attempt: 0 }, body);
    expect(stored).toEqual({ sk: "OUT#gather#0#0", bytes: Buffer.byteLength(body), chunks: 1 });
    expect(await store.stageOutputs.get(runId, stored.sk)).toBe(body);
    const item = await dynamo.client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `RUN#${runId}` }, sk: { S: "OUT#gather#0#0#0000" } },
      }),
    );
    expect(item.Item?.expiresAt?.N).toBe(String(NOW / 1000 + RETENTION));
    expect(item.Item?.body?.S).toBe(body);
  });

  it("splits a large output into chunks of at most 350,000 bytes, never inside a character, and joins them back", async () => {
    const runId = ulid();
    // 3-byte and 4-byte characters put chunk edges inside characters unless the cut moves back.
    const body = "€😀a".repeat(110_000); // 8 bytes each: 880,000 bytes
    const stored = await store.stageOutputs.put(runId, { stage: "draft", pass: 1, attempt: 2 }, body);
    expect(stored).toEqual({ sk: "OUT#draft#1#2", bytes: 880_000, chunks: 3 });
    const items = await rawItems(runId, "OUT#draft#1#2#");
    expect(items.map((i) => i.sk?.S)).toEqual([
      "OUT#draft#1#2#0000",
      "OUT#draft#1#2#0001",
      "OUT#draft#1#2#0002",
    ]);
    for (const item of items) {
      expect(Buffer.byteLength(item.body?.S ?? "")).toBeLessThanOrEqual(STAGE_OUTPUT_CHUNK_BYTES);
      expect(item.expiresAt?.N).toBe(String(NOW / 1000 + RETENTION));
      expect(item.body?.S).not.toContain("\uFFFD");
    }
    expect(await store.stageOutputs.get(runId, stored.sk)).toBe(body);
  });

  it("refuses an output over 4 MiB before writing anything", async () => {
    const runId = ulid();
    const body = "x".repeat(STAGE_OUTPUT_MAX_BYTES + 1);
    await expect(store.stageOutputs.put(runId, { stage: "big", pass: 0, attempt: 0 }, body)).rejects.toThrow(
      ItemTooLargeError,
    );
    expect(await rawItems(runId, "OUT#")).toEqual([]);
    // Exactly the maximum is kept (12 chunks).
    const max = await store.stageOutputs.put(runId, { stage: "big", pass: 0, attempt: 1 }, body.slice(1));
    expect(max).toMatchObject({ bytes: STAGE_OUTPUT_MAX_BYTES, chunks: 12 });
    expect((await store.stageOutputs.get(runId, max.sk)).length).toBe(STAGE_OUTPUT_MAX_BYTES);
  });

  it("reports a missing, expired or incomplete output as StageOutputMissingError", async () => {
    const runId = ulid();
    await expect(store.stageOutputs.get(runId, "OUT#none#0#0")).rejects.toThrow(StageOutputMissingError);
    await expect(store.stageOutputs.get(runId, "EVT#0000000001")).rejects.toThrow(/not a stage output key/);
    const stored = await store.stageOutputs.put(
      runId,
      { stage: "a", pass: 0, attempt: 0 },
      "y".repeat(400_000),
    );
    const later = openStore({
      client: dynamo.client,
      tableName: TABLE,
      retentionSeconds: RETENTION,
      now: () => NOW + (RETENTION + 1) * 1000,
    });
    await expect(later.stageOutputs.get(runId, stored.sk)).rejects.toThrow(/expired/);
    await dynamo.client.send(
      new DeleteItemCommand({
        TableName: TABLE,
        Key: { pk: { S: runPk(runId) }, sk: { S: `${stored.sk}#0001` } },
      }),
    );
    await expect(store.stageOutputs.get(runId, stored.sk)).rejects.toThrow(/1 of 2 chunks/);
  });

  it("splitUtf8: pieces of at most max bytes that join to the text", () => {
    const text = "aé€😀".repeat(50);
    for (const max of [4, 5, 7, 100]) {
      const parts = splitUtf8(text, max);
      expect(parts.join("")).toBe(text);
      for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(max);
    }
    expect(splitUtf8("", 10)).toEqual([]);
  });
});
