import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countStoreRequests, type StoreCounter } from "../../../bench/instrument.ts";
import { TailHub } from "../../../packages/stream/tail-hub.ts";
import { startTestDynamo, type TestDynamo } from "../../support/dynamo.ts";

const RUN = "01JZ1111111111111111111111";
let dynamo: TestDynamo;
let counter: StoreCounter;

beforeAll(async () => {
  dynamo = await startTestDynamo("tail-hub-test");
  counter = countStoreRequests(dynamo.client);
  await dynamo.store.runs.create(RUN, { question: "q" });
});
afterAll(async () => {
  await dynamo?.close();
});

const append = async (message: string) =>
  dynamo.store.events
    .log(RUN)
    .append({ type: "stage.progress", stage: "context", progress: 1, message, data: {} });

describe("TailHub: one store poller per run for every stream of the process", () => {
  it("wakes 50 waiting streams with the same new events from one store read per poll", async () => {
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 40, pollHoldMs: 200 });
    await append("first"); // seq 1
    counter.reset();
    const waiting = Array.from({ length: 50 }, () => hub.next(RUN, 1, 5000));
    await new Promise((r) => setTimeout(r, 30));
    await append("second"); // seq 2
    const results = await Promise.all(waiting);
    for (const r of results)
      expect(r).toEqual({ events: [expect.objectContaining({ seq: 2, message: "second" })], behind: false });
    // Polls of one poller (a few empty ones before the append, one that found it), not 50 × that.
    expect(counter.counts.tailReads).toBeGreaterThanOrEqual(1);
    expect(counter.counts.tailReads).toBeLessThan(10);
  });

  it("answers a stream that is behind what it holds with behind: true, so the stream reads the store itself", async () => {
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 40, pollHoldMs: 200 });
    const ahead = hub.next(RUN, 2, 5000);
    await append("third"); // seq 3
    expect((await ahead).events.map((e) => e.seq)).toEqual([3]);
    // The hub started at seq 2 and holds only seq 3: a stream at 0 must read 1–2 itself.
    expect(await hub.next(RUN, 0, 1000)).toEqual({ events: [], behind: true });
    // One at 2 gets seq 3 at once, from what the hub holds.
    expect((await hub.next(RUN, 2, 1000)).events.map((e) => e.seq)).toEqual([3]);
  });

  it("times out with no events, and backs off to pollMaxMs once the run has been quiet for pollHoldMs", async () => {
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 100, pollHoldMs: 100 });
    counter.reset();
    const t0 = Date.now();
    expect(await hub.next(RUN, 3, 1000)).toEqual({ events: [], behind: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    // About 100 ms at 10 ms, then 20, 40, 80, 100, 100 …: far fewer than the 100 of a 10-ms poll.
    expect(counter.counts.tailReads).toBeGreaterThan(5);
    expect(counter.counts.tailReads).toBeLessThan(30);
  });

  it("ends a wait when its signal aborts", async () => {
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 40, pollHoldMs: 0 });
    const controller = new AbortController();
    const waiting = hub.next(RUN, 3, 60_000, controller.signal);
    controller.abort();
    expect(await waiting).toEqual({ events: [], behind: false });
  });
});

describe("TailHub when the store fails", () => {
  it("sends a waiting stream to the store once per failed poll, not into a loop of direct reads", async () => {
    const hub = new TailHub(dynamo.store, { pollMinMs: 50, pollMaxMs: 50, pollHoldMs: 0 });
    const failing = dynamo.client.middlewareStack;
    failing.add(
      () => async () => {
        throw Object.assign(new Error("throttled"), { name: "ThrottlingException" });
      },
      { step: "initialize", name: "failEverything" },
    );
    try {
      const t0 = Date.now();
      expect(await hub.next(RUN, 3, 5000)).toEqual({ events: [], behind: true });
      // The next call does not answer at once: it waits for the next poll (50 ms later).
      expect(await hub.next(RUN, 3, 5000)).toEqual({ events: [], behind: true });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    } finally {
      failing.remove("failEverything");
    }
  });
});

describe("TailHub with a watcher ahead of the log", () => {
  const AHEAD = "01JZ2222222222222222222222";

  it("starts its poller at the log's end, not at a cursor past it, so watchers behind never loop", async () => {
    await dynamo.store.runs.create(AHEAD, { question: "q" });
    const log = dynamo.store.events.log(AHEAD);
    await log.append({ type: "stage.progress", stage: "context", progress: 1, message: "one", data: {} });
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 40, pollHoldMs: 200 });
    counter.reset();
    // First watcher far ahead (the log ends at seq 1), second one at the log's end.
    const ahead = hub.next(AHEAD, 9_999_999_999, 400, undefined, 1);
    const normal = hub.next(AHEAD, 1, 2000, undefined, 1);
    await new Promise((r) => setTimeout(r, 30));
    await log.append({ type: "stage.progress", stage: "context", progress: 2, message: "two", data: {} });
    expect((await normal).events.map((e) => e.seq)).toEqual([2]);
    // The ahead watcher simply waited: nothing for it, and no error.
    expect(await ahead).toEqual({ events: [], behind: false });
    // Both waited on one poller: a handful of reads, not a loop.
    expect(counter.counts.tailReads).toBeLessThan(40);
  });

  it("answers every waiter when it reads the terminal event: events, or `ended` for a cursor past it, then stops polling", async () => {
    const RUN_END = "01JZ3333333333333333333333";
    await dynamo.store.runs.create(RUN_END, { question: "q" });
    const log = dynamo.store.events.log(RUN_END);
    await log.append({ type: "stage.progress", stage: "context", progress: 1, message: "one", data: {} });
    const hub = new TailHub(dynamo.store, { pollMinMs: 10, pollMaxMs: 40, pollHoldMs: 200 });
    const ahead = hub.next(RUN_END, 12, 10_000, undefined, 1);
    const normal = hub.next(RUN_END, 1, 10_000, undefined, 1);
    await new Promise((r) => setTimeout(r, 30));
    const terminal = await log.append({
      type: "run.cancelled",
      progress: 1,
      message: "Cancelled.",
      data: { reason: "user" },
    });
    expect((await normal).events.map((e) => e.type)).toEqual(["run.cancelled"]);
    expect(await ahead).toEqual({
      events: [],
      behind: false,
      ended: { seq: terminal.seq, type: "run.cancelled" },
    });
    counter.reset();
    // After the end, answers come at once and the store is not read again.
    expect((await hub.next(RUN_END, 50, 10_000, undefined, 1)).ended?.seq).toBe(terminal.seq);
    await new Promise((r) => setTimeout(r, 100));
    expect(counter.counts.tailReads).toBe(0);
  });
});
