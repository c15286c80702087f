import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_AGENT as defaultAgent } from "../../support/agents.ts";
import { readSse } from "../../support/sse.ts";
import { startTestStack } from "../../support/stack.ts";

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

describe("POST /runs with params", () => {
  it("stores them on the run item and shows them in GET /runs/{id}", async () => {
    const params = { filter: "Pod,Deployment", limit: 3, verbose: true };
    const res = await post({ question: "Which pods crash?", params });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    expect(await stack.store.runs.get(runId)).toMatchObject({ question: "Which pods crash?", params });
    expect(await (await fetch(`${stack.url}/runs/${runId}`)).json()).toMatchObject({ params });
    await stack.workflow.idle();
  });

  it("refuses bad params with 400 invalid_request naming the field, and starts nothing", async () => {
    const before = await runItems();
    for (const params of [{ "bad-key": 1 }, { filter: "x".repeat(1001) }, { filter: ["Pod"] }, "Pod"]) {
      const res = await post({ question: "q", params });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(/^params\b/);
    }
    expect(await runItems()).toBe(before);
  });

  it("binds an idempotency key to the params too, whatever their keys' order", async () => {
    const key = `key-${ulid()}`;
    const first = await post({ question: "q", params: { filter: "Pod", limit: 2 } }, key);
    expect(first.status).toBe(202);
    const same = await post({ question: "q", params: { limit: 2, filter: "Pod" } }, key);
    expect(same.status).toBe(202);
    expect(same.headers.get("idempotent-replayed")).toBe("true");
    expect((await same.json()).runId).toBe((await first.json()).runId);
    expect((await post({ question: "q", params: { filter: "Deployment", limit: 2 } }, key)).status).toBe(422);
    expect((await post({ question: "q" }, key)).status).toBe(422);
    await stack.workflow.idle();
  });
});

describe("the run carries its agent's stage list", () => {
  it("writes the agent and its stages ({ name, weight }, in order) into run.queued and the run item", async () => {
    const res = await post({ question: "Which stages will I go through?" });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const stages = defaultAgent.stages.map(({ name, weight }) => ({ name, weight }));
    const first = (await stack.store.events.read(runId, 0, 1)).events[0];
    expect(first).toMatchObject({ seq: 1, type: "run.queued", data: { agent: "default", stages } });
    // Stored on the run item at creation: GET /runs/{id} reads no other item for it.
    expect(await stack.store.runs.get(runId)).toMatchObject({ agent: "default", stages });
    const view = (await (await fetch(`${stack.url}/runs/${runId}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ agent: "default", stages });
    await stack.workflow.idle();
  });

  it("shows an item from before runs listed their stages as the built-in agent's, with no stages", async () => {
    const runId = ulid();
    await stack.store.runs.create(runId, { question: "an old run" });
    expect(await stack.store.runs.view(runId)).toMatchObject({ agent: "default", stages: [] });
  });
});
