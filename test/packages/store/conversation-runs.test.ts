import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

let dynamo: TestDynamo;
/** Run ids in creation order (a monotonic ULID factory: each id sorts after the previous one). */
const nextRunId = monotonicFactory();

beforeAll(async () => {
  dynamo = await startTestDynamo("stagecast-test", 3600);
});
afterAll(async () => {
  await dynamo?.close();
});

describe("conversationRuns: each conversation's newest run", () => {
  it("newest is undefined until a run is recorded, then the newest recorded run, per owner", async () => {
    const { store } = dynamo;
    const chat = `chat-${nextRunId()}`;
    expect(await store.conversationRuns.newest("alice", chat)).toBeUndefined();
    const first = nextRunId();
    const second = nextRunId();
    expect(await store.conversationRuns.point("alice", chat, first)).toBe(true);
    expect(await store.conversationRuns.newest("alice", chat)).toBe(first);
    expect(await store.conversationRuns.point("alice", chat, second)).toBe(true);
    expect(await store.conversationRuns.newest("alice", chat)).toBe(second);
    // Another owner's conversation of the same id is another conversation.
    expect(await store.conversationRuns.newest("bob", chat)).toBeUndefined();
  });

  it("an older run never replaces a newer one (two racing starts leave the newer); the same run again is fine", async () => {
    const { store } = dynamo;
    const chat = `chat-${nextRunId()}`;
    const older = nextRunId();
    const newer = nextRunId();
    expect(await store.conversationRuns.point("alice", chat, newer)).toBe(true);
    expect(await store.conversationRuns.point("alice", chat, older)).toBe(false);
    expect(await store.conversationRuns.point("alice", chat, newer)).toBe(true);
    expect(await store.conversationRuns.newest("alice", chat)).toBe(newer);
  });

  it("lives the table's retention: the item carries expiresAt, and an expired one reads as none and may be replaced", async () => {
    let now = Date.UTC(2025, 0, 1);
    const store = openStore({
      client: dynamo.client,
      tableName: "stagecast-test",
      retentionSeconds: 3600,
      now: () => now,
    });
    const chat = `chat-${nextRunId()}`;
    const newer = nextRunId();
    await store.conversationRuns.point("alice", chat, newer);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: "stagecast-test",
        Key: { pk: { S: `CONV#5:alice#${chat}` }, sk: { S: "RUN" } },
      }),
    );
    expect(Number(Item?.expiresAt?.N)).toBe(now / 1000 + 3600);
    now += 3600 * 1000;
    expect(await store.conversationRuns.newest("alice", chat)).toBeUndefined();
    // Expired: even an older run id may take its place.
    const older = "01AAAAAAAAAAAAAAAAAAAAAAAA";
    expect(await store.conversationRuns.point("alice", chat, older)).toBe(true);
    expect(await store.conversationRuns.newest("alice", chat)).toBe(older);
  });

  it("does not disturb the conversation's turns, which share its partition", async () => {
    const { store } = dynamo;
    const chat = `chat-${nextRunId()}`;
    const runId = nextRunId();
    await store.conversations.put({
      conversationId: chat,
      runId,
      ts: new Date().toISOString(),
      question: "q",
      answer: "a",
    });
    await store.conversationRuns.point("anonymous", chat, runId);
    expect((await store.conversations.list(chat, 10)).map((t) => t.runId)).toEqual([runId]);
    expect(await store.conversationRuns.newest("anonymous", chat)).toBe(runId);
  });
});
