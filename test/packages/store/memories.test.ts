import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

let dynamo: TestDynamo;
let store: Store;

beforeAll(async () => {
  dynamo = await startTestDynamo("stagecast-test", 7 * 24 * 3600);
  store = dynamo.store;
});

afterAll(async () => {
  await dynamo?.close();
});

describe("project memory", () => {
  it("memories.put/list: newest first and limited, per project", async () => {
    const projectId = `proj-${ulid()}`;
    const base = Date.UTC(2025, 0, 1);
    const items = [3, 0, 4, 1, 2].map((i) => ({
      projectId,
      runId: ulid(),
      ts: new Date(base + i * 60_000).toISOString(),
      summary: `summary ${i}`,
    }));
    for (const item of items) await store.memories.put(item);
    await store.memories.put({
      projectId: `${projectId}-other`,
      runId: ulid(),
      ts: new Date(base).toISOString(),
      summary: "x",
    });

    const newest3 = await store.memories.list(projectId, 3);
    expect(newest3.map((m) => m.summary)).toEqual(["summary 4", "summary 3", "summary 2"]);
    const byTs = [...items].sort((a, b) => b.ts.localeCompare(a.ts));
    expect(newest3).toEqual(byTs.slice(0, 3));

    const all = await store.memories.list(projectId, 50);
    expect(all).toEqual(byTs);
    expect(await store.memories.list(`proj-${ulid()}`, 5)).toEqual([]);
  });

  it("conversations.put/list: the newest turns of one conversation, returned oldest first", async () => {
    const conversationId = `conv-${ulid()}`;
    const base = Date.UTC(2025, 0, 1);
    for (const i of [2, 0, 3, 1]) {
      await store.conversations.put({
        conversationId,
        runId: ulid(),
        ts: new Date(base + i * 1000).toISOString(),
        question: `q${i}`,
        answer: `a${i}`,
      });
    }
    await store.conversations.put({
      conversationId: `${conversationId}-x`,
      runId: ulid(),
      ts: new Date(base).toISOString(),
      question: "x",
      answer: "x",
    });
    expect((await store.conversations.list(conversationId, 3)).map((t) => t.question)).toEqual([
      "q1",
      "q2",
      "q3",
    ]);
    expect((await store.conversations.list(conversationId, 10)).map((t) => t.answer)).toEqual([
      "a0",
      "a1",
      "a2",
      "a3",
    ]);
    expect(await store.conversations.list(`conv-${ulid()}`, 5)).toEqual([]);
  });
});
