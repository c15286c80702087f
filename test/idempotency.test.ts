import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store, sweepSilentRuns } from "../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "./support/dynamo.ts";
import { readSse } from "./support/sse.ts";
import { startTestStack } from "./support/stack.ts";

let stack: Awaited<ReturnType<typeof startTestStack>>;
beforeAll(async () => {
  stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "0" });
});
afterAll(async () => {
  await stack?.stop();
});

const post = (body: unknown, key?: string) =>
  fetch(`${stack.url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key === undefined ? {} : { "idempotency-key": key }) },
    body: JSON.stringify(body),
  });

async function runItems(): Promise<number> {
  const out = await stack.store.table.client.send(
    new ScanCommand({
      TableName: stack.store.table.tableName,
      FilterExpression: "sk = :run",
      ExpressionAttributeValues: { ":run": { S: "RUN" } },
      Select: "COUNT",
    }),
  );
  return out.Count ?? 0;
}

describe("POST /runs with Idempotency-Key", () => {
  it("returns the same run for the same key and request, and starts nothing new", async () => {
    const before = await runItems();
    const key = `key-${ulid()}`;
    const first = await post({ question: "Only once, please" }, key);
    expect(first.status).toBe(202);
    const firstBody = await first.json();
    const again = await post({ question: "Only once, please" }, key);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    const { frames } = await readSse(firstBody.links.stream);
    expect(frames.filter((f) => f.event === "run.started")).toHaveLength(1);
    await stack.workflow.idle();
    expect(await runItems()).toBe(before + 1);
  });

  it("gives concurrent requests with one key one run", async () => {
    const before = await runItems();
    const key = `key-${ulid()}`;
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => post({ question: "Concurrent duplicates" }, key)),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const ids = new Set(await Promise.all(answers.map(async (a) => (await a.json()).runId)));
    expect(ids.size).toBe(1);
    await stack.workflow.idle();
    expect(await runItems()).toBe(before + 1);
  });

  it("refuses the same key with another request (422) and a malformed key (400)", async () => {
    const key = `key-${ulid()}`;
    expect((await post({ question: "first" }, key)).status).toBe(202);
    const other = await post({ question: "second" }, key);
    expect(other.status).toBe(422);
    expect((await other.json()).error.code).toBe("idempotency_key_reused");
    for (const bad of ["has space", "x".repeat(256)]) {
      const res = await post({ question: "q" }, bad);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_idempotency_key");
    }
    // Without a key every request is a new run.
    const a = await (await post({ question: "no key" })).json();
    const b = await (await post({ question: "no key" })).json();
    expect(a.runId).not.toBe(b.runId);
  });
});

describe("retention: nothing past its TTL is read as live", () => {
  let dynamo: TestDynamo;
  let clock = Date.UTC(2026, 0, 1);
  let store: Store;
  beforeAll(async () => {
    dynamo = await startTestDynamo("stagecast-ttl");
    store = openStore({
      client: dynamo.client,
      tableName: "stagecast-ttl",
      retentionSeconds: 3600,
      now: () => clock,
    });
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it("an expired run, memory or turn is gone before DynamoDB deletes it", async () => {
    const runId = ulid();
    await store.runs.create(runId, { question: "short-lived" });
    await store.memories.put({ projectId: "ttl", runId, ts: new Date(clock).toISOString(), summary: "old" });
    await store.conversations.put({
      conversationId: "ttl",
      runId,
      ts: new Date(clock).toISOString(),
      question: "q",
      answer: "a",
    });
    expect(await store.runs.get(runId)).toBeDefined();
    clock += 3600 * 1000; // exactly at expiresAt
    expect(await store.runs.get(runId)).toBeUndefined();
    expect(await store.runs.view(runId)).toBeUndefined();
    expect(await store.memories.list("ttl", 5)).toEqual([]);
    expect(await store.conversations.list("ttl", 5)).toEqual([]);
  });

  it("an idempotency claim is free again after 24 h", async () => {
    const first = await store.idempotency.claim("me", "k", { runId: "A", requestHash: "h" }, 86_400);
    expect(first.claimed).toBe(true);
    const repeat = await store.idempotency.claim("me", "k", { runId: "B", requestHash: "h" }, 86_400);
    expect(repeat).toEqual({ claimed: false, runId: "A", requestHash: "h" });
    clock += 86_400 * 1000 + 1000;
    expect((await store.idempotency.claim("me", "k", { runId: "C", requestHash: "h" }, 86_400)).claimed).toBe(
      true,
    );
  });

  it("the sweeper ends only runs silent for longer than the limit, and cleans markers of ended runs", async () => {
    const silent = ulid();
    const busy = ulid();
    const done = ulid();
    for (const id of [silent, busy, done]) {
      await store.runs.create(id, { question: id });
      await store.events
        .log(id)
        .append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question: id } });
    }
    await store.events.log(done).append({ type: "run.cancelled", progress: 0, message: "x", data: {} });
    clock += 60_000;
    await store.events
      .log(busy)
      .append({ type: "run.started", progress: 0, message: "Run started.", data: {} });
    clock += 30_000;
    // silent: quiet for 90 s; busy: for 30 s; limit 60 s.
    const result = await sweepSilentRuns(store, 60_000);
    expect(result.timedOut).toEqual([silent]);
    expect(result.cleaned).toContain(done);
    expect((await store.events.last(silent))?.type).toBe("run.timed_out");
    expect((await store.events.last(busy))?.type).toBe("run.started");
    const active = (await store.runs.listActive()).map((a) => a.runId);
    expect(active).toContain(busy);
    expect(active).not.toContain(silent);
    expect(active).not.toContain(done);
  });
});
