import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countStoreRequests, type StoreCounter } from "../bench/instrument.ts";
import { EndedSchema, isTerminalType, ReconnectSchema, type RunEvent } from "../packages/events/index.ts";
import { readSse } from "./support/sse.ts";
import { startRun, startTestStack } from "./support/stack.ts";

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** Stored events from a stream's frames (frames with an id), in arrival order. */
const eventsOf = (frames: Array<{ id?: string | undefined; data: string }>): RunEvent[] =>
  frames.filter((f) => f.id !== undefined).map((f) => JSON.parse(f.data) as RunEvent);

/** Dense 1..n seqs ending in exactly one terminal event. */
function expectWholeLog(events: RunEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  expect(isTerminalType(events.at(-1)?.type ?? "")).toBe(true);
}

describe("GET /runs/{id}/stream with a cursor ahead of the log", () => {
  let stack: Stack;
  let counter: StoreCounter | undefined;
  beforeAll(async () => {
    stack = await startTestStack(
      // A run of about 2-3 s; a 20-ms poll floor, so one poller costs at most 50 reads/s.
      { OFFLINE_MODEL_TOKENS_PER_SECOND: "80", STREAM_POLL_MIN_MS: "20", STREAM_POLL_MAX_MS: "100" },
      {
        instrumentDynamo: (client) => {
          counter = countStoreRequests(client);
        },
      },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Watch one run with `normal` plain watchers and, first, the given ahead watchers; measure reads and CPU. */
  async function watch(aheadIds: string[], normal: number) {
    const question = "Explain how a resumable event stream survives dropped connections, step by step.";
    const started = await startRun(stack.url, { question });
    counter?.reset();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const ahead = aheadIds.map((id) => readSse(started.links.stream, { headers: { "last-event-id": id } }));
    await new Promise((r) => setTimeout(r, 50)); // the ahead watcher is the run's first
    const normals = Array.from({ length: normal }, () => readSse(started.links.stream));
    const [aheadResults, normalResults] = await Promise.all([Promise.all(ahead), Promise.all(normals)]);
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await stack.workflow.idle();
    return {
      ahead: aheadResults,
      normals: normalResults,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      tailReads: counter?.counts.tailReads ?? Number.NaN,
    };
  }

  it("a far-ahead first watcher costs what an idle one does, the others get every event, and its stream ends with `ended`", async () => {
    const baseline = await watch([], 3);
    const withAhead = await watch(["9999999999"], 3);

    for (const r of [...baseline.normals, ...withAhead.normals]) {
      expect(r.status).toBe(200);
      expectWholeLog(eventsOf(r.frames));
    }
    const [ahead] = withAhead.ahead;
    expect(ahead?.status).toBe(200);
    // Nothing stored reaches it (every seq is below its cursor); it ends with one `ended` frame.
    expect(eventsOf(ahead?.frames ?? [])).toEqual([]);
    const last = ahead?.frames.at(-1);
    expect(last?.event).toBe("ended");
    expect(last?.id).toBeUndefined();
    const terminal = eventsOf(withAhead.normals[0]?.frames ?? []).at(-1);
    expect(EndedSchema.parse(JSON.parse(last?.data ?? "{}"))).toEqual({
      runId: terminal?.runId,
      lastSeq: terminal?.seq,
      terminal: terminal?.type,
    });
    expect(ahead?.ended).toBe(true);
    // It ended when the run did (within a poll or two), not at the stream deadline.
    const terminalAt = withAhead.normals[0]?.frames.at(-1)?.at ?? 0;
    expect((last?.at ?? 0) - terminalAt).toBeLessThan(1000);

    // Store reads: one shared poller (≤ 50/s) and each stream's first read, as without it.
    // Before the fix the watchers behind the poller read in a tight loop (thousands of reads).
    const perSecond = (r: { tailReads: number; wallMs: number }) => r.tailReads / (r.wallMs / 1000);
    expect(perSecond(withAhead)).toBeLessThan(60);
    expect(withAhead.tailReads).toBeLessThan(baseline.tailReads * 1.5 + 20);
    // CPU of the whole process (the run itself included): no pinned core.
    expect(withAhead.cpuMs / withAhead.wallMs).toBeLessThan(0.8);
    expect(withAhead.cpuMs).toBeLessThan(baseline.cpuMs * 1.5 + 300);
  });

  it("a watcher at 12 from the start of a run gets exactly the events after 12, then the terminal event", async () => {
    const { ahead, normals } = await watch(["12"], 1);
    const all = eventsOf(normals[0]?.frames ?? []);
    expectWholeLog(all);
    expect(all.length).toBeGreaterThan(13);
    expect(eventsOf(ahead[0]?.frames ?? [])).toEqual(all.slice(12));
  });

  it("a resume past the end of an ended run gets 204 (EventSource stops)", async () => {
    const { normals } = await watch([], 1);
    const runId = eventsOf(normals[0]?.frames ?? [])[0]?.runId;
    const res = await fetch(`${stack.url}/runs/${runId}/stream`, {
      headers: { "last-event-id": "9999999999" },
    });
    expect(res.status).toBe(204);
  });
});

describe("stream framing", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({
      OFFLINE_MODEL_TOKENS_PER_SECOND: "40",
      STREAM_MAX_DURATION_MS: "1000",
      STREAM_RETRY_MS: "250",
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("opens with a heartbeat carrying retry:, and a deadline close is a `reconnect` frame saying where to resume", async () => {
    const started = await startRun(stack.url, { question: "Summarise the history of event streaming." });
    const first = await readSse(started.links.stream);
    expect(first.opening?.event).toBe("heartbeat");
    expect(first.retries[0]).toBe(250);
    const last = first.frames.at(-1);
    expect(last?.event).toBe("reconnect");
    expect(last?.id).toBeUndefined();
    const events = eventsOf(first.frames);
    expect(ReconnectSchema.parse(JSON.parse(last?.data ?? "{}"))).toEqual({
      runId: started.runId,
      lastSeq: events.at(-1)?.seq,
      retryMs: 250,
      reason: "deadline",
    });
    // Every frame with data carries JSON: no empty-data event for any client to choke on.
    for (const f of [first.opening, ...first.frames]) expect(() => JSON.parse(f?.data ?? "")).not.toThrow();
    await stack.workflow.idle();
  });

  it("?format=message sends every frame unnamed, with its type in the data", async () => {
    const started = await startRun(stack.url, { question: "What is 2 + 2?" });
    await stack.workflow.idle();
    const read = await readSse(`${started.links.stream}?format=message`);
    expect(read.opening).toBeUndefined(); // not a named heartbeat
    expect(read.retries[0]).toBe(250);
    expect(read.frames.every((f) => f.event === undefined)).toBe(true);
    const types = read.frames.map((f) => (JSON.parse(f.data) as { type: string }).type);
    expect(types[0]).toBe("heartbeat");
    const events = eventsOf(read.frames);
    expectWholeLog(events);
    expect(types.slice(1)).toEqual(events.map((e) => e.type));
  });
});
