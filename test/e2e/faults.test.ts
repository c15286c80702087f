import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isTerminalType, type RunEvent, type Stage } from "../../packages/events/index.ts";
import { DEFAULT_STAGES as STAGES } from "../support/agents.ts";
import {
  connectionResetError,
  type FaultPlan,
  type FollowResult,
  followRun,
  injectDynamoFaults,
  modelCalls,
  mulberry32,
  randInt,
  readSession,
  resetKnobs,
  seededOrdinals,
  setKnobs,
  sleep,
  throttlingError,
  waitForModelCalls,
} from "../support/faults.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * Fault tests through real HTTP on the local stack: DynamoDB throttling injected into the
 * client every part shares, clients cut off and resuming, the stream's own deadline, and the
 * model failing or stalling. Every test checks that nothing is lost and nothing is repeated:
 * seq 1..N dense, exactly one terminal event, one stage.started per stage attempt, and what the
 * client received equals the stored log.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** The stored log of a run (the truth every client must end up with). */
async function storedLog(stack: Stack, runId: string): Promise<RunEvent[]> {
  const page = await stack.store.events.read(runId, 0, 1000);
  expect(page.hasMore).toBe(false);
  return page.events;
}

/**
 * The rules every finished log keeps, whatever went wrong on the way: seq dense from 1, one
 * terminal event and it is last, run.queued then one run.started, one stage.started per
 * (stage, attempt), attempts of a stage numbered 0..k with one stage.retrying announcing each
 * retry, at most one stage.completed per attempt, unique tool call ids, monotonic progress.
 * @returns the stage.retrying events.
 */
function expectSoundLog(events: RunEvent[], runId: string): RunEvent[] {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.every((e) => e.runId === runId)).toBe(true);
  expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  expect(isTerminalType(events.at(-1)?.type ?? "")).toBe(true);
  expect(events[0]?.type).toBe("run.queued");
  expect(events[1]?.type).toBe("run.started");
  expect(events.filter((e) => e.type === "run.started")).toHaveLength(1);

  const count = (type: RunEvent["type"]) => {
    const out = new Map<string, number>();
    for (const e of events) {
      if (e.type === type) out.set(`${e.stage}#${e.attempt}`, (out.get(`${e.stage}#${e.attempt}`) ?? 0) + 1);
    }
    return out;
  };
  const started = count("stage.started");
  for (const [key, n] of started) expect(n, `stage.started ${key}`).toBe(1);
  for (const [key, n] of count("stage.completed")) expect(n, `stage.completed ${key}`).toBe(1);
  for (const [key, n] of count("stage.retrying")) expect(n, `stage.retrying ${key}`).toBe(1);
  for (const stage of STAGES) {
    const attempts = [...started.keys()]
      .filter((k) => k.startsWith(`${stage}#`))
      .map((k) => Number(k.split("#")[1]))
      .sort((a, b) => a - b);
    expect(attempts, `attempts of ${stage}`).toEqual(attempts.map((_, i) => i));
    const retries = events.filter((e) => e.type === "stage.retrying" && e.stage === stage);
    expect(retries.map((e) => e.attempt)).toEqual(attempts.slice(1));
  }
  const callIds = events.flatMap((e) =>
    e.type === "tool.started" ? [`${e.stage}#${e.attempt}#${e.data.callId}`] : [],
  );
  expect(new Set(callIds).size).toBe(callIds.length);
  const progress = events.map((e) => e.progress);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  return events.filter((e) => e.type === "stage.retrying");
}

/** For a completed run: every stage completed once, and the answer is exactly the llm.delta text of execution's last attempt. */
function expectCompletedWithAnswer(events: RunEvent[]): { lastAttempt: number; answer: string } {
  const last = events.at(-1);
  if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}: ${last?.message}`);
  for (const stage of STAGES) {
    expect(
      events.filter((e) => e.type === "stage.completed" && e.stage === stage),
      stage,
    ).toHaveLength(1);
  }
  const lastAttempt = Math.max(...events.filter((e) => e.stage === "execution").map((e) => e.attempt ?? 0));
  const text = events
    .filter((e) => e.type === "llm.delta" && e.stage === "execution" && e.attempt === lastAttempt)
    .map((e) => (e.type === "llm.delta" ? e.data.text : ""))
    .join("");
  expect(last.data.answer.length).toBeGreaterThan(0);
  expect(text).toBe(last.data.answer);
  return { lastAttempt, answer: last.data.answer };
}

/** What the client received equals the stored log, frame ids are the seqs, and no id came twice. */
function expectReceivedEqualsStored(got: FollowResult, stored: RunEvent[]): void {
  const ids = got.frames.map((f) => f.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(got.events.map((e) => String(e.seq)));
  expect(got.frames.map((f) => f.event)).toEqual(got.events.map((e) => e.type));
  expect(got.events).toEqual(stored);
}

/** The stage whose retry a failed write of `event` causes (run.started: context; run.completed: memory). */
function stageOf(event: { type: string; stage?: Stage }): Stage {
  if (event.stage) return event.stage;
  return event.type === "run.started" ? "context" : "memory";
}

// ---------------------------------------------------------------------------------------------

describe("DynamoDB throttling injected at the shared SDK client", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ STREAM_RETRY_MS: "50" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("throttled appends: the SDK absorbs some, the others fail the stage, which the workflow retries; nothing lost or repeated", async () => {
    const rand = mulberry32(0x7a11);
    const started = await startRun(stack.url, { question: "What is 17% of 2,340?" });
    const pk = `RUN#${started.runId}`;
    // Logical event puts of this run, counted from the first one after POST /runs returned.
    // Every few puts (seeded gaps of 3..6), one is throttled, in this order of kinds:
    // through every SDK attempt (the SDK gives up after its real backoff), absorbed by the
    // SDK's retries (first attempt only), reaching the store at once (as after the SDK gave
    // up, without its waits).
    const kinds = ["exhaust", "absorb", "reach", "absorb", "reach"] as const;
    const targets = seededOrdinals(rand, kinds.length, 3, 6);
    let puts = 0;
    const failuresByStage = new Map<Stage, number>();
    const blocked: Array<{ kind: (typeof kinds)[number]; event: RunEvent }> = [];
    const injector = injectDynamoFaults(stack.store.table.client, "throttle-puts", (call): FaultPlan => {
      if (call.command !== "PutItemCommand" || call.input.Item?.pk?.S !== pk) return undefined;
      if (!String(call.input.Item?.sk?.S).startsWith("EVT#")) return undefined;
      const i = targets.indexOf(++puts);
      const kind = kinds[i];
      if (kind === undefined) return undefined;
      const event = JSON.parse(call.input.Item.body.S) as RunEvent;
      const stage = stageOf(event);
      // A stage is retried at most twice (Retry MaxAttempts 2): keep failures reaching our code within that.
      if (kind !== "absorb") {
        if ((failuresByStage.get(stage) ?? 0) >= 2) return undefined;
        failuresByStage.set(stage, (failuresByStage.get(stage) ?? 0) + 1);
      }
      blocked.push({ kind, event });
      if (kind === "reach") return { kind: "reach", error: throttlingError };
      return { kind: "attempts", count: kind === "absorb" ? 1 : 99, when: "before", error: throttlingError };
    });
    let got: FollowResult;
    try {
      got = await followRun(started.links.stream);
      await stack.workflow.idle();
    } finally {
      injector.remove();
    }

    const stored = await storedLog(stack, started.runId);
    const retrying = expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(got, stored);

    const status = await (await fetch(started.links.self)).json();
    expect(status).toMatchObject({ status: "completed", lastSeq: stored.length, progress: 100 });

    expect(blocked.map((b) => b.kind)).toEqual(kinds);
    const reachedCode = blocked.filter((b) => b.kind !== "absorb");
    // The exhausted put went through every one of the SDK's attempts (4 for DynamoDB), each
    // throttled, before the error reached the store (the first "attempts" plan is the exhaust one).
    const maxAttempts = await stack.store.table.client.config.maxAttempts();
    expect(maxAttempts).toBeGreaterThanOrEqual(3);
    expect(injector.log.attempts[0]).toBe(maxAttempts);
    expect(injector.log.thrown.slice(0, maxAttempts)).toEqual(
      Array.from({ length: maxAttempts }, (_, i) => `attempt ${i + 1}/${maxAttempts}`),
    );
    expect(injector.log.thrown.filter((t) => t === "reach")).toHaveLength(2);
    // Each failure that reached our code made the workflow retry the stage: announced with
    // stage.retrying, unless the attempt had written nothing yet (then it is attempt 0 again).
    expect(retrying.length).toBeGreaterThanOrEqual(1);
    expect(retrying.length).toBeLessThanOrEqual(reachedCode.length);
    for (const { kind, event } of blocked) {
      const atSeq = stored[event.seq - 1];
      if (kind === "absorb") {
        // Absorbed by the SDK: written exactly once, as the stage wrote it.
        expect(atSeq).toEqual(event);
      } else {
        // Never written: its seq went to the retry's first event (stage.retrying, or the same
        // event again when the failed attempt had written nothing yet).
        const retried = atSeq?.type === "stage.retrying" && atSeq.stage === stageOf(event);
        expect(retried || atSeq?.type === event.type, `${event.type} at ${event.seq}`).toBe(true);
      }
    }
  });

  it("a write whose acknowledgement is lost (applied, then the connection reset) is not appended twice", async () => {
    const started = await startRun(stack.url, { question: "How should we name the billing service?" });
    const pk = `RUN#${started.runId}`;
    // The first llm.delta and validation's stage.started land in DynamoDB, but the client
    // sees a connection reset; the SDK retries the same conditional put, which now fails.
    const lost: RunEvent[] = [];
    const injector = injectDynamoFaults(stack.store.table.client, "lost-ack", (call): FaultPlan => {
      if (call.command !== "PutItemCommand" || call.input.Item?.pk?.S !== pk) return undefined;
      const event = JSON.parse(call.input.Item?.body?.S ?? "{}") as RunEvent;
      const pick =
        (event.type === "llm.delta" || (event.type === "stage.started" && event.stage === "validation")) &&
        !lost.some((e) => e.type === event.type);
      if (!pick) return undefined;
      lost.push(event);
      return { kind: "attempts", count: 1, when: "after", error: connectionResetError };
    });
    let got: FollowResult;
    try {
      got = await followRun(started.links.stream);
      await stack.workflow.idle();
    } finally {
      injector.remove();
    }
    expect(lost.map((e) => e.type)).toEqual(["stage.started", "llm.delta"]);
    const stored = await storedLog(stack, started.runId);
    expectReceivedEqualsStored(got, stored);
    // Each of them is in the log once (not again at the next seq), at the seq it was written at.
    const content = (e: RunEvent) => JSON.stringify({ ...e, seq: 0, ts: "" });
    for (const event of lost) {
      const copies = stored.filter((e) => content(e) === content(event)).map((e) => e.seq);
      expect(copies, `${event.type} (${event.stage}) stored at seqs ${copies.join(", ")}`).toEqual([
        event.seq,
      ]);
      expect(stored[event.seq - 1]).toEqual(event);
    }
    expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expect(stored.filter((e) => e.type === "stage.retrying")).toHaveLength(0);
  });

  it("throttled tail queries end the stream with a retry hint; the client resumes with Last-Event-ID and gets exactly the stored log", async () => {
    const rand = mulberry32(0x0de1);
    const started = await startRun(stack.url, { question: "How do retries keep a log exact?" });
    const pk = `RUN#${started.runId}`;
    // Tail queries of this run (forward Query after a cursor; events.last reads backwards and
    // stages do not tail). Seeded ordinals: three fail in a row (the read fails, as after the
    // SDK gave up), then two are throttled once and absorbed by the SDK.
    const kinds = ["reach", "reach", "reach", "absorb", "absorb"] as const;
    // The three that reach are consecutive, so whichever reader the first one hits (the shared
    // poller or a stream), the next read, a stream's own, fails too.
    const first = seededOrdinals(rand, 1, 2, 4)[0] as number;
    const targets = [first, first + 1, first + 2, ...seededOrdinals(rand, 2, 2, 4).map((n) => n + first + 2)];
    let tails = 0;
    const injected: string[] = [];
    const injector = injectDynamoFaults(stack.store.table.client, "throttle-tail", (call): FaultPlan => {
      const input = call.input;
      if (call.command !== "QueryCommand" || input.ExpressionAttributeValues?.[":pk"]?.S !== pk)
        return undefined;
      if (input.ScanIndexForward === false) return undefined;
      const kind = kinds[targets.indexOf(++tails)];
      if (kind === undefined) return undefined;
      injected.push(kind);
      return kind === "reach"
        ? { kind: "reach", error: throttlingError }
        : { kind: "attempts", count: 1, when: "before", error: throttlingError };
    });
    let got: FollowResult;
    try {
      got = await followRun(started.links.stream);
      await stack.workflow.idle();
    } finally {
      injector.remove();
    }
    const stored = await storedLog(stack, started.runId);
    expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(got, stored);

    const reached = injected.filter((k) => k === "reach").length;
    expect(reached).toBe(3);
    // A failed read of the shared poller (TailHub) sends its streams to the store themselves;
    // a failed read of a stream's own ends it with `retry:` (the configured 50 ms) and the
    // client resumes. So at least one and at most one stream per failed read was retried.
    const retried = got.sessions.filter((s) => s.end === "retry");
    expect(retried.length).toBeGreaterThanOrEqual(1);
    expect(retried.length).toBeLessThanOrEqual(reached);
    expect(retried.every((s) => s.retryMs === 50 && s.status === 200)).toBe(true);
    expect(got.sessions.at(-1)?.end).toBe("terminal");
    expect(got.sessions.filter((s) => s.end !== "retry" && s.end !== "terminal")).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("a client cut off and resuming", () => {
  let stack: Stack;
  beforeAll(async () => {
    // Short llm.delta intervals: the answer arrives as many frames, so 20 cuts fit in one run.
    stack = await startTestStack({ LLM_DELTA_INTERVAL_MS: "20" });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(async () => {
    if (stack?.offlineModelUrl) await resetKnobs(stack.offlineModelUrl);
  });

  it("cut at 20 seeded points and resumed each time with Last-Event-ID: the parts join into one uninterrupted stream", async () => {
    const offline = stack.offlineModelUrl ?? "";
    await setKnobs(offline, { tokensPerSecond: 100 }); // a run of about 1-2 s
    const rand = mulberry32(0xc0ffee);
    const ks = Array.from({ length: 20 }, () => randInt(rand, 1, 2));
    const t0 = Date.now();
    const started = await startRun(stack.url, {
      question: "Explain how a resumable event stream survives dropped connections, step by step.",
    });
    // One reader that never drops, alongside the one that is cut 20 times.
    const [whole, cut] = await Promise.all([
      readSession(started.links.stream),
      followRun(started.links.stream, { cutAfter: (i) => ks[i] }),
    ]);
    const runMs = Date.now() - t0;
    await stack.workflow.idle();
    const stored = await storedLog(stack, started.runId);
    expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(cut, stored);

    const shape = (f: { id?: string | undefined; event?: string | undefined; data: string }) => ({
      id: f.id,
      event: f.event,
      data: f.data,
    });
    expect(whole.ended).toBe(true);
    expect(cut.frames.map(shape)).toEqual(whole.frames.filter((f) => f.event !== "heartbeat").map(shape));
    const again = await readSession(started.links.stream);
    // Heartbeats (the opening one included) carry the time, so they differ between readings.
    const stored_ = (frames: typeof whole.frames) => frames.filter((f) => f.event !== "heartbeat").map(shape);
    expect(stored_(again.frames)).toEqual(stored_(whole.frames));

    // The run was long enough for all 20 cuts; session i was cut after exactly ks[i] frames,
    // then one more session read the rest to the terminal event.
    expect(stored.length).toBeGreaterThan(ks.reduce((a, b) => a + b, 0));
    expect(cut.sessions.map((s) => (s.end === "cut" ? `cut ${s.frames}` : s.end))).toEqual([
      ...ks.map((k) => `cut ${k}`),
      "terminal",
    ]);
    // The cuts happened while the run was going (it takes about 1-2 s).
    expect(runMs).toBeGreaterThan(500);
  });
});

// ---------------------------------------------------------------------------------------------

describe("the stream's deadline reached mid-run", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({
      STREAM_MAX_DURATION_MS: "1000", // the smallest allowed
      STREAM_RETRY_MS: "100",
      OFFLINE_MODEL_TOKENS_PER_SECOND: "30", // a run of about 4 s: several stream lifetimes
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("each stream closes at its deadline with a retry hint; resuming each time gives exactly the stored log", async () => {
    const started = await startRun(stack.url, { question: "How should we name the billing service?" });
    const got = await followRun(started.links.stream);
    await stack.workflow.idle();
    const stored = await storedLog(stack, started.runId);
    expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(got, stored);

    const reconnects = got.sessions.filter((s) => s.end === "retry");
    expect(reconnects.length).toBeGreaterThanOrEqual(2);
    expect(got.sessions.at(-1)?.end).toBe("terminal");
    expect(got.sessions.slice(0, -1).every((s) => s.end === "retry")).toBe(true);
    for (const s of reconnects) {
      expect(s.status).toBe(200);
      expect(s.retryMs).toBe(100);
      // Closed at the deadline: not before it, and not long after.
      expect(s.durationMs).toBeGreaterThanOrEqual(950);
      expect(s.durationMs).toBeLessThan(2500);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe("the model failing or stalling", () => {
  let stack: Stack;
  let offline: string;
  beforeAll(async () => {
    stack = await startTestStack({ MODEL_TIMEOUT_MS: "1000" }); // the smallest allowed
    offline = stack.offlineModelUrl ?? "";
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(async () => {
    if (offline) await resetKnobs(offline);
  });

  /** The offline model's calls per run here: analyzing, planning, execution, memory. */
  const EXECUTION_CALL = 3;

  /**
   * Start a run, and once its planning call has reached the model (so the next call is
   * execution's: validation asks no model), call `beforeExecution(base)` (base: the model's
   * call count before the run). Follow the stream to the end and check the log.
   */
  async function runWithFault(
    question: string,
    beforeExecution: (base: number) => Promise<void>,
  ): Promise<{ stored: RunEvent[]; retrying: RunEvent[]; lastAttempt: number }> {
    const base = await modelCalls(offline);
    const started = await startRun(stack.url, { question });
    const following = followRun(started.links.stream);
    await waitForModelCalls(offline, base + EXECUTION_CALL - 1);
    await sleep(20); // let the planning call take its knobs before they change
    await beforeExecution(base);
    const got = await following;
    await stack.workflow.idle();
    const stored = await storedLog(stack, started.runId);
    const retrying = expectSoundLog(stored, started.runId);
    const { lastAttempt } = expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(got, stored);
    return { stored, retrying, lastAttempt };
  }

  it("a 500 on the first model call: analyzing is retried once and the run completes", async () => {
    await setKnobs(offline, { failNext: { count: 1, status: 500 } });
    const started = await startRun(stack.url, { question: "How should we name the billing service?" });
    const got = await followRun(started.links.stream);
    await stack.workflow.idle();
    const stored = await storedLog(stack, started.runId);
    const retrying = expectSoundLog(stored, started.runId);
    expectCompletedWithAnswer(stored);
    expectReceivedEqualsStored(got, stored);
    expect(retrying.map((e) => [e.stage, e.attempt])).toEqual([["analyzing", 1]]);
  });

  it("a 500 on execution's model call: execution is retried once; the answer is its last attempt's llm.delta text", async () => {
    const { retrying, lastAttempt } = await runWithFault("How should we name the billing service?", () =>
      setKnobs(offline, { failNext: { count: 1, status: 500 } }),
    );
    expect(retrying.map((e) => [e.stage, e.attempt])).toEqual([["execution", 1]]);
    expect(lastAttempt).toBe(1);
  });

  it("execution's model call stalling past MODEL_TIMEOUT_MS: timed out, retried once, the run completes", async () => {
    const t0 = Date.now();
    const { retrying, lastAttempt, stored } = await runWithFault(
      "How should we name the billing service?",
      () => setKnobs(offline, { stallNext: { count: 1, ms: 5000 } }),
    );
    expect(retrying.map((e) => [e.stage, e.attempt])).toEqual([["execution", 1]]);
    expect(lastAttempt).toBe(1);
    // The stalled attempt wrote no text; the time limit, not the 5 s stall, ended it.
    expect(stored.filter((e) => e.type === "llm.delta" && e.attempt === 0)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(4500);
  });

  it("execution's answer stream stalling mid-way past MODEL_TIMEOUT_MS: the partial text stays in attempt 0, the answer is attempt 1's", async () => {
    const { retrying, lastAttempt, stored } = await runWithFault(
      "How should we name the billing service?",
      async (base) => {
        // So slow that the answer cannot finish within the 1 s limit…
        await setKnobs(offline, { tokensPerSecond: 10 });
        // …until the retry's call arrives: back to full speed (the pace is read while streaming).
        await waitForModelCalls(offline, base + EXECUTION_CALL + 1);
        await setKnobs(offline, { tokensPerSecond: 300 });
      },
    );
    expect(retrying.map((e) => [e.stage, e.attempt])).toEqual([["execution", 1]]);
    expect(lastAttempt).toBe(1);
    const partial = stored
      .filter((e) => e.type === "llm.delta" && e.attempt === 0)
      .map((e) => (e.type === "llm.delta" ? e.data.text : ""))
      .join("");
    const last = stored.at(-1);
    if (last?.type !== "run.completed") throw new Error("unreachable");
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(last.data.answer.length);
    expect(last.data.answer.startsWith(partial)).toBe(true);
  });
});
