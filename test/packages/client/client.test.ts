import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createClient,
  isTerminalType,
  type RunEvent,
  StagecastApiError,
  StagecastConnectionError,
  type StreamState,
} from "../../../packages/client/index.ts";
import { DEFAULT_AGENT as defaultAgent, DEFAULT_STAGES as STAGES } from "../../support/agents.ts";
import {
  collect,
  cutAfterEvents,
  expectWholeLog,
  finalAttemptText,
  isStreamCall,
  isTokenCall,
  recordingFetch,
} from "../../support/client-helpers.ts";
import { startTestStack } from "../../support/stack.ts";
import { hs256CallerToken } from "../../support/tokens.ts";

/**
 * The typed client (packages/client) against the real local stack: dynalite, the local Step
 * Functions runner, the offline model and the real HTTP server. Nothing of the server is
 * mocked; a wrapping `fetch` only records requests, or damages one on purpose.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** Fast reconnects, so tests that force one do not wait the default 500 ms backoff. */
const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };
const UNKNOWN_RUN = "01M7Z3AYGVMJPM6ANRF6QTT349";

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Every char of a JWT's signature changed to another base64url char: same shape, wrong signature. */
function corrupt(token: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const [header, payload, signature = ""] = token.split(".");
  const bad = [...signature].map((ch) => alphabet[(alphabet.indexOf(ch) + 1) % alphabet.length]).join("");
  return `${header}.${payload}.${bad}`;
}

describe("client against the local stack (AUTH=off, fast model)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "300" });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const client = () => createClient({ baseUrl: stack.url, reconnect: FAST_RECONNECT });

  it("startRun → subscribe yields the whole log in order; getRun shows the answer and stage estimates", async () => {
    const c = client();
    const question = "How does the typed client resume a stream?";
    const started = await c.startRun({ question });
    expect(started.runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(started.status).toBe("queued");

    const events = await collect(c.subscribe(started.runId));
    expectWholeLog(events, started.runId);
    expect(events[0]?.type).toBe("run.queued");
    if (events[0]?.type === "run.queued") expect(events[0].data.question).toBe(question);
    expect(events.filter((e) => e.type === "stage.started").map((e) => e.stage)).toEqual([...STAGES]);
    const last = events.at(-1);
    expect(last?.type).toBe("run.completed");
    // What the client delivered is exactly the stored log.
    const { events: stored } = await stack.store.events.read(started.runId, 0, 1000);
    expect(events).toEqual(stored);

    const answer = finalAttemptText(events);
    expect(answer.length).toBeGreaterThan(0);
    if (last?.type === "run.completed") expect(last.data.answer).toBe(answer);

    // Stage statistics are written after the run's own events: wait for the execution to end.
    await stack.workflow.idle();
    const run = await c.getRun(started.runId);
    expect(run).toMatchObject({
      runId: started.runId,
      status: "completed",
      question,
      lastSeq: events.length,
      progress: 100,
      agent: "default",
      stages: defaultAgent.stages.map(({ name, weight }) => ({ name, weight })),
    });
    expect(run.answer).toBe(answer);
    expect(Object.keys(run.stageEstimates).sort()).toEqual([...STAGES].sort());
    for (const stage of STAGES) {
      expect(run.stageEstimates[stage]?.runs, stage).toBeGreaterThanOrEqual(1);
      expect(run.stageEstimates[stage]?.meanMs, stage).toBeGreaterThanOrEqual(0);
    }
  });

  it("listRuns returns the caller's runs newest first, and honours limit", async () => {
    const c = client();
    const older = await c.startRun({ question: "first of two" });
    const newer = await c.startRun({ question: "second of two" });
    const runs = await c.listRuns();
    const ids = runs.map((r) => r.runId);
    expect(ids).toContain(older.runId);
    expect(ids).toContain(newer.runId);
    expect(ids.indexOf(newer.runId)).toBeLessThan(ids.indexOf(older.runId));
    expect(ids).toEqual([...ids].sort().reverse()); // ULIDs sort by creation time
    const created = runs.map((r) => Date.parse(r.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    const one = await c.listRuns({ limit: 1 });
    expect(one).toHaveLength(1);
    expect(one[0]?.runId).toBe(newer.runId);
    await collect(c.subscribe(older.runId));
    await collect(c.subscribe(newer.runId));
  });

  it("subscribe with after: k yields only the events after seq k", async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "resume me after five" });
    const whole = await collect(c.subscribe(runId));
    expectWholeLog(whole, runId);
    const k = 5;
    const rest = await collect(c.subscribe(runId, { after: k }));
    expect(rest.length).toBe(whole.length - k);
    expect(rest.every((e) => e.seq > k)).toBe(true);
    expect(rest).toEqual(whole.slice(k));

    // Live, too: a second client that resumes while the run is still going.
    const live = await c.startRun({ question: "resume me live" });
    const fresh = createClient({ baseUrl: stack.url, reconnect: FAST_RECONNECT });
    const tail = await collect(fresh.subscribe(live.runId, { after: 3 }));
    const { events: stored } = await stack.store.events.read(live.runId, 0, 1000);
    expect(tail).toEqual(stored.slice(3));
    expect(tail[0]?.seq).toBe(4);
  });

  it("survives a connection dropped mid-stream: every event exactly once, resumed after the last seq", async () => {
    let cuts = 0;
    const yielded: number[] = [];
    let resumedAfter: string | null = null;
    const { fetch, calls } = recordingFetch({
      after: (call, res, index) => {
        if (!isStreamCall(call)) return res;
        if (index === 1) resumedAfter = call.url.searchParams.get("after");
        if (index !== 0 || !res.body) return res;
        const body = cutAfterEvents(res.body, 4, () => cuts++);
        return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
      },
    });
    const c = createClient({ baseUrl: stack.url, fetch, reconnect: FAST_RECONNECT });
    const states: StreamState[] = [];
    const { runId } = await c.startRun({ question: "What if the connection drops?" });
    const events: RunEvent[] = [];
    for await (const event of c.subscribe(runId, { onState: (s) => states.push(s) })) {
      events.push(event);
      yielded.push(event.seq);
    }
    expect(cuts).toBe(1);
    expectWholeLog(events, runId);
    expect(new Set(yielded).size).toBe(yielded.length);
    const { events: stored } = await stack.store.events.read(runId, 0, 1000);
    expect(events).toEqual(stored);
    const streams = calls.filter(isStreamCall);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    // The reconnect asked for what came after the 4 whole events the first connection delivered.
    expect(resumedAfter).toBe("4");
    expect(states).toContain("reconnecting");
    expect(states.filter((s) => s === "open").length).toBeGreaterThanOrEqual(2);
  });

  it("cancelRun on a completed run throws StagecastApiError 409 run_finished", async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "finish, then cancel" });
    const events = await collect(c.subscribe(runId));
    expect(events.at(-1)?.type).toBe("run.completed");
    const err = await rejection(c.cancelRun(runId));
    expect(err).toBeInstanceOf(StagecastApiError);
    expect(err).toMatchObject({ status: 409, code: "run_finished" });
    expect((await c.getRun(runId)).status).toBe("completed");
  });

  it("answers errors as StagecastApiError with the API's code and request id", async () => {
    const c = client();
    const notFound = await rejection(c.getRun(UNKNOWN_RUN));
    expect(notFound).toBeInstanceOf(StagecastApiError);
    expect(notFound).toMatchObject({ status: 404, code: "run_not_found" });
    expect((notFound as StagecastApiError).requestId).toEqual(expect.any(String));
    expect((notFound as StagecastApiError).requestId?.length).toBeGreaterThan(0);

    const stream = await rejection(collect(c.subscribe(UNKNOWN_RUN)));
    expect(stream).toBeInstanceOf(StagecastApiError);
    expect(stream).toMatchObject({ status: 404 });

    for (const question of ["", "   "]) {
      const invalid = await rejection(c.startRun({ question }));
      expect(invalid).toBeInstanceOf(StagecastApiError);
      expect(invalid).toMatchObject({ status: 400, code: "invalid_request" });
    }
    const badId = await rejection(c.getRun("not-a-ulid"));
    expect(badId).toMatchObject({ status: 400, code: "invalid_run_id" });
  });

  it('types: ["stage.*"] delivers only stage events and the terminal event', async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "only the stages, please" });
    const events = await collect(c.subscribe(runId, { types: ["stage.*"] }));
    const last = events.at(-1);
    expect(last?.type).toBe("run.completed");
    const rest = events.slice(0, -1);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((e) => e.type.startsWith("stage."))).toBe(true);
    const { events: stored } = await stack.store.events.read(runId, 0, 1000);
    expect(events).toEqual(stored.filter((e) => e.type.startsWith("stage.") || isTerminalType(e.type)));
    expect(rest.filter((e) => e.type === "stage.started").map((e) => e.stage)).toEqual([...STAGES]);
  });

  it("subscribing to a completed run after its last seq ends at once with no events (204)", async () => {
    const { fetch, calls } = recordingFetch();
    const c = createClient({ baseUrl: stack.url, fetch, reconnect: FAST_RECONNECT });
    const { runId } = await c.startRun({ question: "already over" });
    const whole = await collect(c.subscribe(runId));
    const lastSeq = whole.at(-1)?.seq ?? 0;
    expect(lastSeq).toBe(whole.length);
    const before = calls.filter(isStreamCall).length;

    expect(await collect(c.subscribe(runId, { after: lastSeq }))).toEqual([]);
    const streams = calls.filter(isStreamCall).slice(before);
    expect(streams.map((s) => s.status)).toEqual([204]);
    expect(streams[0]?.url.searchParams.get("after")).toBe(String(lastSeq));
  });

  it("stops yielding as soon as the signal aborts, even with more events already received", async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "abort while the log is replayed" });
    const whole = await collect(c.subscribe(runId));
    expect(whole.length).toBeGreaterThan(3);
    // The run is over: the whole log arrives at once, so more events are buffered when we abort.
    const controller = new AbortController();
    const got: RunEvent[] = [];
    for await (const event of c.subscribe(runId, { signal: controller.signal })) {
      got.push(event);
      controller.abort();
    }
    // Frames already received when the signal aborts must not be yielded any more.
    expect(got.map((e) => e.seq)).toEqual([1]);
  });
});

describe("client on a slow run with short streams (forced reconnects, cancel, abort)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({
      OFFLINE_MODEL_TOKENS_PER_SECOND: "20",
      STREAM_MAX_DURATION_MS: "1000",
      STREAM_RETRY_MS: "50",
      CANCEL_CHECK_MS: "100",
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const client = (extra: Partial<Parameters<typeof createClient>[0]> = {}) =>
    createClient({ baseUrl: stack.url, reconnect: FAST_RECONNECT, ...extra });

  it("reconnects when the server ends each stream, and delivers every event exactly once", async () => {
    const { fetch, calls } = recordingFetch();
    const c = client({ fetch });
    const states: StreamState[] = [];
    const { runId } = await c.startRun({ question: "A long answer that outlives several streams" });
    const events = await collect(c.subscribe(runId, { onState: (s) => states.push(s) }));
    expectWholeLog(events, runId);
    expect(events.at(-1)?.type).toBe("run.completed");
    const { events: stored } = await stack.store.events.read(runId, 0, 1000);
    expect(events).toEqual(stored);

    const streams = calls.filter(isStreamCall);
    expect(streams.length).toBeGreaterThanOrEqual(3);
    expect(streams.every((s) => s.status === 200)).toBe(true);
    const afters = streams.map((s) => Number(s.url.searchParams.get("after")));
    expect(afters[0]).toBe(0);
    expect(afters).toEqual([...afters].sort((a, b) => a - b));
    expect(afters.at(-1)).toBeGreaterThan(0);
    expect(states[0]).toBe("connecting");
    expect(states).toContain("reconnecting");
    expect(states.filter((s) => s === "open")).toHaveLength(streams.length);
  });

  it("cancelRun on a running run ends the subscription with run.cancelled; cancelling again succeeds", async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "Cancel me while I am answering" });
    const events: RunEvent[] = [];
    let cancelled = false;
    for await (const event of c.subscribe(runId)) {
      events.push(event);
      if (!cancelled && event.type === "llm.delta") {
        cancelled = true;
        await c.cancelRun(runId);
      }
    }
    expect(cancelled).toBe(true);
    expectWholeLog(events, runId);
    expect(events.at(-1)?.type).toBe("run.cancelled");
    expect(events.some((e) => e.type === "run.completed")).toBe(false);
    await expect(c.cancelRun(runId)).resolves.toBeUndefined();
    expect((await c.getRun(runId)).status).toBe("cancelled");
    await stack.workflow.idle();
  });

  it("aborting the signal mid-run ends the for-await loop without throwing", async () => {
    const c = client();
    const { runId } = await c.startRun({ question: "Stop watching me half way" });
    const controller = new AbortController();
    const events: RunEvent[] = [];
    // Whether frames already buffered at the abort still arrive is the previous describe's
    // buffered-abort test; here: the loop ends, quietly, long before the run does.
    const loop = (async () => {
      for await (const event of c.subscribe(runId, { signal: controller.signal })) {
        events.push(event);
        if (event.type === "stage.started" && event.stage === "analyzing") controller.abort();
      }
    })();
    await expect(loop).resolves.toBeUndefined();
    expect(controller.signal.aborted).toBe(true);
    expect(events.some((e) => isTerminalType(e.type))).toBe(false);
    // The run itself goes on: aborting a subscription is not cancelling the run.
    expect((await c.getRun(runId)).status).toBe("running");
    await c.cancelRun(runId);
    await stack.workflow.idle();
  });

  it("aborting while waiting to reconnect returns quietly too", async () => {
    const c = client();
    const controller = new AbortController();
    const states: StreamState[] = [];
    const { fetch } = recordingFetch({
      // Every stream attempt fails as a 503 would, so the subscription sits in a long backoff.
      after: (call, res) => {
        if (!isStreamCall(call)) return res;
        void res.body?.cancel();
        return new Response('{"error":{"code":"unavailable","message":"try later"}}', {
          status: 503,
          headers: { "content-type": "application/json" },
        });
      },
    });
    const flaky = createClient({
      baseUrl: stack.url,
      fetch,
      reconnect: { initialDelayMs: 120_000, maxDelayMs: 120_000 },
    });
    const { runId } = await c.startRun({ question: "Backoff, then abort" });
    const loop = collect(
      flaky.subscribe(runId, {
        signal: controller.signal,
        onState: (s) => {
          states.push(s);
          if (s === "reconnecting") setTimeout(() => controller.abort(), 50);
        },
      }),
    );
    await expect(loop).resolves.toEqual([]);
    expect(states).toEqual(["connecting", "reconnecting"]);
    await c.cancelRun(runId);
    await stack.workflow.idle();
  });

  it("a stream the server ends on time is not a failed connection: a filtered subscription survives many of them", async () => {
    // A stream that opened and was ended by the server's own deadline (with `retry:`) is a
    // healthy connection even when none of its events passed the filter.
    const { fetch, calls } = recordingFetch();
    const c = client({ fetch, reconnect: { ...FAST_RECONNECT, maxRetries: 2 } });
    const { runId } = await c.startRun({ question: "Tell me only when it is over" });
    let events: RunEvent[] = [];
    let error: unknown;
    try {
      events = await collect(c.subscribe(runId, { types: ["run.completed"] }));
    } catch (err) {
      error = err;
      await c.cancelRun(runId).catch(() => undefined);
    }
    await stack.workflow.idle();
    // Every connection succeeded: nothing failed, the server only ended its streams on time.
    const streams = calls.filter(isStreamCall);
    expect(streams.length).toBeGreaterThanOrEqual(1);
    expect(streams.every((s) => s.status === 200)).toBe(true);
    expect(error).not.toBeInstanceOf(StagecastConnectionError);
    expect(events.map((e) => e.type)).toEqual(["run.completed"]);
  });
});

describe("client with AUTH=jwt", () => {
  const SECRET = "client-test-secret-with-at-least-32-bytes";
  const tokenFor = (sub: string) => hs256CallerToken(SECRET, sub);
  let stack: Stack;
  let token: string;
  let otherToken: string;
  beforeAll(async () => {
    stack = await startTestStack({
      AUTH: "jwt",
      AUTH_JWT_SECRET: SECRET,
      OFFLINE_MODEL_TOKENS_PER_SECOND: "300",
    });
    token = await tokenFor("client-test");
    otherToken = await tokenFor("someone-else");
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("runs end to end with a caller token; the stream token from startRun is used as it is", async () => {
    const { fetch, calls } = recordingFetch();
    const c = createClient({ baseUrl: stack.url, token: () => token, fetch, reconnect: FAST_RECONNECT });
    const started = await c.startRun({ question: "Authenticated run" });
    expect(started.streamToken).toEqual(expect.any(String));
    const events = await collect(c.subscribe(started.runId));
    expectWholeLog(events, started.runId);
    expect(events.at(-1)?.type).toBe("run.completed");
    expect(calls.filter(isTokenCall)).toEqual([]);
    expect(calls.filter(isStreamCall)[0]?.url.searchParams.get("token")).toBe(started.streamToken);
    const runs = await c.listRuns();
    expect(runs.map((r) => r.runId)).toContain(started.runId);
  });

  it("a client that did not start the run gets a stream token first", async () => {
    const starter = createClient({ baseUrl: stack.url, token });
    const { runId } = await starter.startRun({ question: "Watched by another client" });
    const { fetch, calls } = recordingFetch();
    const watcher = createClient({ baseUrl: stack.url, token, fetch, reconnect: FAST_RECONNECT });
    const events = await collect(watcher.subscribe(runId));
    expectWholeLog(events, runId);
    expect(calls.map((c) => (isTokenCall(c) ? "token" : isStreamCall(c) ? "stream" : "other"))).toEqual([
      "token",
      "stream",
    ]);
    expect(calls.every((c) => c.status === 200)).toBe(true);
  });

  it("on a 401 from the stream, fetches a new stream token and continues with every event", async () => {
    let issued: string | undefined;
    let bad: string | undefined;
    const { fetch, calls } = recordingFetch({
      before: (call, index) => {
        if (!isStreamCall(call) || index !== 0) return undefined;
        const url = new URL(call.url);
        bad = corrupt(url.searchParams.get("token") ?? "");
        url.searchParams.set("token", bad);
        return url;
      },
      after: async (call, res) => {
        if (isTokenCall(call) && res.ok) {
          issued = ((await res.clone().json()) as { streamToken?: string }).streamToken;
        }
        return res;
      },
    });
    const c = createClient({ baseUrl: stack.url, token, fetch, reconnect: FAST_RECONNECT });
    const { runId } = await c.startRun({ question: "Refresh my stream token" });
    const events = await collect(c.subscribe(runId));
    expectWholeLog(events, runId);
    expect(events.at(-1)?.type).toBe("run.completed");
    const { events: stored } = await stack.store.events.read(runId, 0, 1000);
    expect(events).toEqual(stored);

    const tokenCalls = calls.filter(isTokenCall);
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]?.method).toBe("POST");
    expect(tokenCalls[0]?.url.pathname).toBe(`/runs/${runId}/stream-token`);
    expect(tokenCalls[0]?.status).toBe(200);
    const streams = calls.filter(isStreamCall);
    expect(streams.map((s) => s.status)).toEqual([401, 200]);
    expect(streams[0]?.url.searchParams.get("token")).toBe(bad);
    expect(issued).toEqual(expect.any(String));
    expect(streams[1]?.url.searchParams.get("token")).toBe(issued);
    expect(streams[1]?.url.searchParams.get("after")).toBe("0");
  });

  it("a 401 right after a refresh is a real refusal: StagecastApiError 401, one refresh only", async () => {
    const { fetch, calls } = recordingFetch({
      before: (call) => {
        if (!isStreamCall(call)) return undefined;
        const url = new URL(call.url);
        url.searchParams.set("token", corrupt(url.searchParams.get("token") ?? ""));
        return url;
      },
    });
    const c = createClient({ baseUrl: stack.url, token, fetch, reconnect: FAST_RECONNECT });
    const { runId } = await c.startRun({ question: "Always refused" });
    const err = await rejection(collect(c.subscribe(runId)));
    expect(err).toBeInstanceOf(StagecastApiError);
    expect(err).toMatchObject({ status: 401 });
    expect(calls.filter(isTokenCall)).toHaveLength(1);
    expect(calls.filter(isStreamCall).map((s) => s.status)).toEqual([401, 401]);
    await createClient({ baseUrl: stack.url, token }).cancelRun(runId);
    await stack.workflow.idle();
  });

  it("without a caller token, startRun throws 401; another caller's run is a 404 everywhere", async () => {
    const anonymous = createClient({ baseUrl: stack.url });
    const err = await rejection(anonymous.startRun({ question: "no token" }));
    expect(err).toBeInstanceOf(StagecastApiError);
    expect(err).toMatchObject({ status: 401, code: "missing_token" });
    const forged = await rejection(createClient({ baseUrl: stack.url, token: "not-a-jwt" }).listRuns());
    expect(forged).toMatchObject({ status: 401 });

    const c = createClient({ baseUrl: stack.url, token });
    const { runId } = await c.startRun({ question: "mine" });
    await collect(c.subscribe(runId));
    const other = createClient({ baseUrl: stack.url, token: otherToken, reconnect: FAST_RECONNECT });
    for (const attempt of [other.getRun(runId), other.cancelRun(runId), collect(other.subscribe(runId))]) {
      const refused = await rejection(attempt);
      expect(refused).toBeInstanceOf(StagecastApiError);
      expect(refused).toMatchObject({ status: 404, code: "run_not_found" });
    }
    expect((await other.listRuns()).map((r) => r.runId)).not.toContain(runId);
    const anon = await rejection(collect(anonymous.subscribe(runId)));
    expect(anon).toBeInstanceOf(StagecastApiError);
    expect(anon).toMatchObject({ status: 401 });
  });
});
