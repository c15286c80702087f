import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import { readSse } from "../support/sse.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/** Cancellation through real HTTP on the local stack, with a model slow enough to cancel mid-answer. */
let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "40", CANCEL_CHECK_MS: "100" });
});
afterAll(async () => {
  await stack?.stop();
});

const cancel = (runId: string) => fetch(`${stack.url}/runs/${runId}/cancel`, { method: "POST" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function modelCallsInFlight(): Promise<number> {
  return ((await (await fetch(`${stack.offlineModelUrl}/_offline/stats`)).json()) as { active: number })
    .active;
}

describe("POST /runs/{runId}/cancel", () => {
  it("cancels in the middle of llm.delta: both watchers end with run.cancelled and the stage writes nothing more", async () => {
    const started = await startRun(stack.url, {
      question: "Explain how cancellation reaches a running stage",
    });
    const watchers = [readSse(started.links.stream), readSse(started.links.stream)];
    await waitFor(async () => {
      const { events } = await stack.store.events.read(started.runId, 0, 1000);
      return events.some((e) => e.type === "llm.delta");
    }, "the answer to start streaming");

    const res = await cancel(started.runId);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ runId: started.runId, status: "cancelled" });
    const cancelledAt = Date.now();

    // The running stage notices within a second and aborts its model call.
    await waitFor(async () => (await modelCallsInFlight()) === 0, "the model call to be aborted", 1000);
    expect(Date.now() - cancelledAt).toBeLessThan(1000);

    const streams = await Promise.all(watchers);
    const { events: log } = await stack.store.events.read(started.runId, 0, 1000);
    for (const s of streams) {
      expect(s.ended).toBe(true);
      expect(s.frames.filter((f) => f.event !== "heartbeat").map((f) => JSON.parse(f.data))).toEqual(log);
    }
    expect(log.at(-1)?.type).toBe("run.cancelled");
    expect(log.filter((e: RunEvent) => isTerminalType(e.type))).toHaveLength(1);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));

    // Nothing more is written afterwards, and the execution ends.
    await sleep(500);
    await stack.workflow.idle();
    expect((await stack.store.events.read(started.runId, 0, 1000)).events).toHaveLength(log.length);

    // Idempotent: cancelling again answers 202; the status says cancelled.
    expect((await cancel(started.runId)).status).toBe(202);
    const status = await (await fetch(started.links.self)).json();
    expect(status.status).toBe("cancelled");
  });

  it("cancels a run before its first stage", async () => {
    const started = await startRun(stack.url, { question: "Cancel me at once" });
    expect((await cancel(started.runId)).status).toBe(202);
    const { frames } = await readSse(started.links.stream);
    expect(frames.at(-1)?.event).toBe("run.cancelled");
    await stack.workflow.idle();
    const { events } = await stack.store.events.read(started.runId, 0, 1000);
    expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    expect(events.at(-1)?.type).toBe("run.cancelled");
  });

  it("answers 409 for a run that ended otherwise, 404 for an unknown run, 400 for a bad id", async () => {
    const fast = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "0" });
    try {
      const started = await startRun(fast.url, { question: "Finish quickly" });
      await readSse(started.links.stream);
      const res = await fetch(`${fast.url}/runs/${started.runId}/cancel`, { method: "POST" });
      expect(res.status).toBe(409);
      expect((await res.json()).error.code).toBe("run_finished");
      const { events } = await fast.store.events.read(started.runId, 0, 1000);
      expect(events.at(-1)?.type).toBe("run.completed");
    } finally {
      await fast.stop();
    }
    expect((await cancel("01M7Z3AYGVMJPM6ANRF6QTT349")).status).toBe(404);
    expect((await cancel("nope")).status).toBe(400);
  });

  it("reaches a stage that is writing nothing (a stalled model call) within a second, at the default check interval", async () => {
    const quiet = await startTestStack();
    try {
      await fetch(`${quiet.offlineModelUrl}/_offline/knobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stallNext: { count: 1, ms: 20_000 } }),
      });
      const started = await startRun(quiet.url, { question: "Stall in analyzing" });
      const active = async () =>
        ((await (await fetch(`${quiet.offlineModelUrl}/_offline/stats`)).json()) as { active: number })
          .active;
      await waitFor(async () => (await active()) === 1, "the analyzing call to stall");
      const before = (await quiet.store.events.read(started.runId, 0, 1000)).events.length;
      expect((await fetch(`${quiet.url}/runs/${started.runId}/cancel`, { method: "POST" })).status).toBe(202);
      const cancelledAt = Date.now();
      await waitFor(async () => (await active()) === 0, "the stalled call to be aborted", 1000);
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
      await quiet.workflow.idle();
      const { events } = await quiet.store.events.read(started.runId, 0, 1000);
      expect(events).toHaveLength(before + 1);
      expect(events.at(-1)?.type).toBe("run.cancelled");
    } finally {
      await quiet.stop();
    }
  });
});
