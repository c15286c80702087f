import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retryDelayMs } from "../../../packages/client/backoff.ts";
import {
  type ClientOptions,
  createClient,
  InvalidPollUrlError,
  isTerminalType,
  pollLinkRunId,
  type RunEvent,
  StagecastApiError,
  StagecastConnectionError,
  StagecastProtocolError,
  type StreamState,
} from "../../../packages/client/index.ts";
import { collect, expectWholeLog } from "../../support/client-helpers.ts";
import { puppetStage } from "../../support/puppet-stage.ts";
import { startTestStack } from "../../support/stack.ts";
import { hs256CallerToken } from "../../support/tokens.ts";
import { startVarnish, type Varnish } from "../../support/varnish.ts";

/**
 * The client's long-poll mode (packages/client/poll-subscription.ts) against the real local
 * stack, and through Varnish with the repository's VCL. Nothing of the server is mocked: a
 * wrapping fetch records every request, and damages one on purpose where a test says so.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };
const UNKNOWN_RUN = "01M7Z3AYGVMJPM6ANRF6QTT349";
const QUESTION = "How does a long-poll cursor resume?";

/** One request the recorder passed on: its URL as sent, method, and how it ended. */
interface Call {
  url: string;
  method: string;
  status?: number;
  /** The name of the error the fetch rejected with (e.g. AbortError). */
  error?: string;
}

/**
 * A fetch that records every request. `answer` may replace the response of the i-th poll (a
 * synthetic 503, a network error…); returning undefined passes the request to the server.
 */
function recorder(
  answer: (pollIndex: number, url: string) => Response | Error | undefined | Promise<Response> = () =>
    undefined,
) {
  const calls: Call[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const call: Call = { url: String(input), method: init?.method ?? "GET" };
    const index = calls.filter(isPoll).length;
    calls.push(call);
    const replaced = isPoll(call) ? await answer(index, call.url) : undefined;
    if (replaced instanceof Error) {
      call.error = replaced.name;
      throw replaced;
    }
    if (replaced) {
      call.status = replaced.status;
      return replaced;
    }
    try {
      const res = await globalThis.fetch(input, init);
      call.status = res.status;
      return res;
    } catch (err) {
      call.error = (err as Error).name;
      throw err;
    }
  };
  return { fetch: fetchFn as typeof fetch, calls };
}

const isPoll = (c: Call) => new URL(c.url).pathname.endsWith("/poll");
const polls = (calls: Call[]) => calls.filter(isPoll);

/** A 503 `store_unavailable` as the server sends it, with Retry-After 0 s (no real wait in tests). */
const unavailable = () =>
  new Response(
    JSON.stringify({ error: { code: "store_unavailable", message: "The store failed.", requestId: "t" } }),
    { status: 503, headers: { "content-type": "application/json", "retry-after": "0" } },
  );

/** The error a promise (or an iteration) rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Every poll's URL is `<link>?after=N` or `<link>&after=N`: the link's query first, then the cursor. */
function expectLinkThenCursor(calls: Call[], link: string) {
  const prefix = `${link}${link.includes("?") ? "&" : "?"}after=`;
  for (const call of polls(calls)) {
    expect(call.url.startsWith(prefix), call.url).toBe(true);
    expect(call.url.slice(prefix.length)).toMatch(/^(0|[1-9]\d*)$/);
  }
}

describe("long-poll reads (AUTH=off)", () => {
  let stack: Stack;
  const puppet = puppetStage();
  beforeAll(async () => {
    stack = await startTestStack({ RUN_SWEEP_MS: "3600000" }, { stages: { memory: puppet.stage } });
  });
  afterAll(async () => {
    // Runs a test did not follow to their end finish first: the store must outlive them.
    await stack?.workflow.idle();
    await stack?.stop();
  });
  const client = (extra: Partial<ClientOptions> = {}) =>
    createClient({ baseUrl: stack.url, reconnect: FAST_RECONNECT, ...extra });
  /** Start a run and let its puppet (memory) stage complete at once. */
  const startFree = async () => {
    const { runId } = await client().startRun({ question: QUESTION });
    void puppet.started(runId).then(() => puppet.release(runId));
    return runId;
  };

  it("yields exactly what the SSE path yields: the whole log once, in order, one terminal", async () => {
    const runId = await startFree();
    const rec = recorder();
    // Following live: the poll starts while the run is going.
    const polled = await collect(client({ fetch: rec.fetch }).subscribe(runId, { mode: "long-poll" }));
    const streamed = await collect(client().subscribe(runId));
    expectWholeLog(polled, runId);
    expect(polled).toEqual(streamed);
    expect(polled).toEqual((await stack.store.events.read(runId, 0, 1000)).events);
    // One watch-token call, then only polls: `<link>?after=N` (no token with AUTH=off), never /stream.
    expect(rec.calls.filter((c) => !isPoll(c)).map((c) => [c.method, new URL(c.url).pathname])).toEqual([
      ["POST", `/runs/${runId}/watch-token`],
    ]);
    expectLinkThenCursor(rec.calls, `${stack.url}/runs/${runId}/poll`);
    expect(polls(rec.calls)[0]?.url).toBe(`${stack.url}/runs/${runId}/poll?after=0`);
    // The cursor only moves forward.
    const cursors = polls(rec.calls).map((c) => Number(new URL(c.url).searchParams.get("after")));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));

    // The client-level default does the same.
    const byDefault = recorder();
    const events = await collect(client({ fetch: byDefault.fetch, readMode: "long-poll" }).subscribe(runId));
    expect(events).toEqual(polled);
    expect(byDefault.calls.some((c) => new URL(c.url).pathname.endsWith("/stream"))).toBe(false);
  });

  it("resumes after `after`, filters by types in the client, and ends at once for a cursor at the end", async () => {
    const runId = await startFree();
    const whole = await collect(client().subscribe(runId, { mode: "long-poll" }));
    const rest = await collect(client().subscribe(runId, { mode: "long-poll", after: 5 }));
    expect(rest).toEqual(whole.slice(5));
    const link = (await client().getWatchLink(runId)).links.poll;
    expect(link).toBe(`${stack.url}/runs/${runId}/poll`);
    expect(await collect(client().watch(link, { after: whole.length }))).toEqual([]);
    expect(await collect(client().watch(link, { after: whole.length + 10 }))).toEqual([]);
    // A link carrying its own `after` is read from the option's cursor, never with two `after`s.
    const rec = recorder();
    const viaLink = await collect(client({ fetch: rec.fetch }).watch(`${link}?after=3`, { after: 2 }));
    expect(viaLink).toEqual(whole.slice(2));
    expect(polls(rec.calls)[0]?.url).toBe(`${link}?after=2`);

    const stages = await collect(client().subscribe(runId, { mode: "long-poll", types: ["stage.*"] }));
    expect(stages.length).toBeGreaterThan(1);
    expect(stages.every((e) => e.type.startsWith("stage.") || isTerminalType(e.type))).toBe(true);
    expect(stages.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    expect(stages).toEqual(whole.filter((e) => e.type.startsWith("stage.") || isTerminalType(e.type)));
  });

  it("stops at abort: the poll waiting at the live edge is aborted and no request follows", async () => {
    const { runId } = await client().startRun({ question: QUESTION });
    await puppet.started(runId);
    const edge = (await stack.store.events.last(runId))?.seq ?? 0;
    const rec = recorder();
    const controller = new AbortController();
    const received: RunEvent[] = [];
    const done = (async () => {
      const events = client({ fetch: rec.fetch }).subscribe(runId, {
        mode: "long-poll",
        after: edge - 2,
        signal: controller.signal,
      });
      for await (const event of events) received.push(event);
    })();
    // The two events before the edge arrive; then a poll waits at the edge (the run is held).
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
    await expect
      .poll(() => polls(rec.calls).filter((c) => c.status === undefined).length, { timeout: 10_000 })
      .toBe(1);
    controller.abort();
    await done;
    const made = rec.calls.length;
    expect(polls(rec.calls).at(-1)?.error).toBe("AbortError");
    // The run goes on and ends; the closed subscription asks for nothing more.
    await puppet.say(runId, "written after the abort");
    puppet.release(runId);
    await stack.workflow.idle();
    expect(rec.calls.length).toBe(made);
    expect(received.map((e) => e.seq)).toEqual([edge - 1, edge]);
  });

  it("a repeated answer (a stale cache's) delivers nothing twice; the same cursor is asked again", async () => {
    const { runId } = await client().startRun({ question: QUESTION });
    await puppet.started(runId);
    const link = `${stack.url}/runs/${runId}/poll`;
    // The second poll gets the first one's answer again (the events from 0, the run not ended).
    const rec = recorder((i) => (i === 1 ? globalThis.fetch(`${link}?after=0`) : undefined));
    const following = collect(client({ fetch: rec.fetch }).watch(link));
    await expect.poll(() => polls(rec.calls).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    puppet.release(runId);
    const events = await following;
    expectWholeLog(events, runId);
    expect(events).toEqual((await stack.store.events.read(runId, 0, 1000)).events);
    const cursors = polls(rec.calls).map((c) => new URL(c.url).searchParams.get("after"));
    expect(cursors[1]).not.toBe("0");
    expect(cursors[2]).toBe(cursors[1]);
  });

  it("retries a 503 and a network failure with backoff, reporting the states, then delivers the whole log", async () => {
    const runId = await startFree();
    const whole = await collect(client().subscribe(runId, { mode: "long-poll" }));
    const rec = recorder((i) =>
      i === 0 ? new TypeError("fetch failed") : i === 1 ? unavailable() : undefined,
    );
    const states: Array<[StreamState, number]> = [];
    const events = await collect(
      client({ fetch: rec.fetch }).subscribe(runId, {
        mode: "long-poll",
        onState: (state, failures) => states.push([state, failures]),
      }),
    );
    expect(events).toEqual(whole);
    expect(states).toEqual([
      ["connecting", 0],
      ["reconnecting", 1],
      ["reconnecting", 2],
      ["open", 0],
    ]);
    // The failed cursor is asked again: nothing skipped.
    expect(
      polls(rec.calls)
        .slice(0, 3)
        .map((c) => new URL(c.url).searchParams.get("after")),
    ).toEqual(["0", "0", "0"]);
  });

  it("gives up after maxRetries consecutive failures with StagecastConnectionError, the last 503 as cause", async () => {
    const runId = await startFree();
    const rec = recorder(() => unavailable());
    const c = createClient({
      baseUrl: stack.url,
      fetch: rec.fetch,
      reconnect: { ...FAST_RECONNECT, maxRetries: 2 },
    });
    const err = await rejection(collect(c.subscribe(runId, { mode: "long-poll" })));
    expect(err).toBeInstanceOf(StagecastConnectionError);
    const cause = (err as StagecastConnectionError).cause as StagecastApiError;
    expect(cause).toBeInstanceOf(StagecastApiError);
    expect([cause.status, cause.code, cause.retryAfterMs]).toEqual([503, "store_unavailable", 0]);
    expect(polls(rec.calls)).toHaveLength(3);
  });

  it("abort during the backoff ends the subscription at once, with no further request", async () => {
    const runId = await startFree();
    const rec = recorder(() => unavailable());
    const controller = new AbortController();
    const c = createClient({ baseUrl: stack.url, fetch: rec.fetch, reconnect: { initialDelayMs: 60_000 } });
    const events = await collect(
      c.subscribe(runId, {
        mode: "long-poll",
        signal: controller.signal,
        onState: (state) => {
          if (state === "reconnecting") controller.abort();
        },
      }),
    );
    expect(events).toEqual([]);
    expect(polls(rec.calls)).toHaveLength(1);
  });

  it("waits the server's Retry-After when it is longer than the backoff", () => {
    const settings = { initialDelayMs: 100, maxDelayMs: 1000, maxRetries: 5 };
    expect(retryDelayMs(1, new TypeError("x"), settings, 0)).toBe(50);
    expect(retryDelayMs(3, new TypeError("x"), settings, 0.999_999)).toBeCloseTo(400);
    expect(retryDelayMs(10, new TypeError("x"), settings, 0.999_999)).toBeCloseTo(1000);
    const hinted = new StagecastApiError(503, "store_unavailable", "busy", undefined, 2000);
    expect(retryDelayMs(1, hinted, settings, 0.5)).toBe(2000);
  });

  it("fails clearly: 404 for an unknown run, InvalidPollUrlError for a bad link, a protocol error for a non-poll answer", async () => {
    const fromToken = await rejection(collect(client().subscribe(UNKNOWN_RUN, { mode: "long-poll" })));
    expect(fromToken).toBeInstanceOf(StagecastApiError);
    expect((fromToken as StagecastApiError).code).toBe("run_not_found");
    const fromPoll = await rejection(collect(client().watch(`${stack.url}/runs/${UNKNOWN_RUN}/poll`)));
    expect([(fromPoll as StagecastApiError).status, (fromPoll as StagecastApiError).code]).toEqual([
      404,
      "run_not_found",
    ]);

    const runId = await startFree();
    const link = `${stack.url}/runs/${runId}/poll`;
    expect(() => client().watch(`${stack.url}/runs/${runId}/stream`)).toThrow(InvalidPollUrlError);
    expect(() => client().watch("not a url")).toThrow(InvalidPollUrlError);
    expect(() => client().subscribe(UNKNOWN_RUN, { pollUrl: link })).toThrow(InvalidPollUrlError);
    expect(pollLinkRunId(`${link}?token=abc`)).toBe(runId);
    expect(pollLinkRunId("https://example.com/")).toBeUndefined();

    const html = recorder(() => new Response("<html>oops</html>", { status: 200 }));
    const garbled = await rejection(collect(client({ fetch: html.fetch }).watch(link)));
    expect(garbled).toBeInstanceOf(StagecastProtocolError);
    expect(polls(html.calls)).toHaveLength(1);
  });
});

describe("long-poll reads (AUTH=jwt): the owner, the audience, and through Varnish", () => {
  const SECRET = "poll-subscription-test-secret-with-32-bytes";
  let stack: Stack;
  let cdn: Varnish;
  let owner: string;
  beforeAll(async () => {
    stack = await startTestStack({ AUTH: "jwt", AUTH_JWT_SECRET: SECRET, RUN_SWEEP_MS: "3600000" });
    owner = await hs256CallerToken(SECRET, "alice");
    const { hostname, port } = new URL(stack.url);
    cdn = await startVarnish({ origin: { host: hostname, port: Number(port) } });
  }, 60_000);
  afterAll(async () => {
    await cdn?.stop();
    await stack?.workflow.idle();
    await stack?.stop();
  });
  const ownerClient = (fetchFn?: typeof fetch) =>
    createClient({
      baseUrl: stack.url,
      token: owner,
      reconnect: FAST_RECONNECT,
      ...(fetchFn ? { fetch: fetchFn } : {}),
    });
  /** A client with no caller token at all: an audience member. */
  const audience = (fetchFn: typeof fetch) =>
    createClient({ baseUrl: "http://127.0.0.1:9", fetch: fetchFn, reconnect: FAST_RECONNECT });

  it("the owner polls with the watch token in the link: `?token=…&after=N`, one API call", async () => {
    const { runId } = await ownerClient().startRun({ question: QUESTION });
    const rec = recorder();
    const events = await collect(ownerClient(rec.fetch).subscribe(runId, { mode: "long-poll" }));
    expectWholeLog(events, runId);
    expect(events).toEqual((await stack.store.events.read(runId, 0, 1000)).events);
    const { links, watchToken } = await ownerClient().getWatchLink(runId);
    expect(links.poll).toBe(`${stack.url}/runs/${runId}/poll?token=${watchToken}`);
    expect(rec.calls.filter((c) => !isPoll(c))).toHaveLength(1);
    expectLinkThenCursor(rec.calls, links.poll);
  });

  it("an audience member follows the shared link with no API call and no token", async () => {
    const { runId } = await ownerClient().startRun({ question: QUESTION });
    const link = (await ownerClient().getWatchLink(runId)).links.poll;
    const rec = recorder();
    const events = await collect(audience(rec.fetch).watch(link));
    expectWholeLog(events, runId);
    expect(rec.calls.every(isPoll)).toBe(true);
    expectLinkThenCursor(rec.calls, link);
    // The same through subscribe with pollUrl.
    const again = recorder();
    expect(await collect(audience(again.fetch).subscribe(runId, { pollUrl: link }))).toEqual(events);
    expect(again.calls.every(isPoll)).toBe(true);
  });

  it("a refused token is a 401 StagecastApiError for the audience; the owner gets a new link once", async () => {
    const { runId } = await ownerClient().startRun({ question: QUESTION });
    const link = (await ownerClient().getWatchLink(runId)).links.poll;
    const tampered = `${link.slice(0, -2)}${link.endsWith("AA") ? "BB" : "AA"}`;
    const rec = recorder();
    const refused = await rejection(collect(audience(rec.fetch).watch(tampered)));
    expect(refused).toBeInstanceOf(StagecastApiError);
    expect([(refused as StagecastApiError).status, (refused as StagecastApiError).code]).toEqual([
      401,
      "invalid_token",
    ]);
    expect(rec.calls).toHaveLength(1);

    // The owner's first poll is refused as expired: one new watch-token call, then it goes on.
    const expired = () =>
      new Response(JSON.stringify({ error: { code: "token_expired", message: "expired", requestId: "t" } }), {
        status: 401,
        headers: { "content-type": "application/json" },
      });
    const owned = recorder((i) => (i === 0 ? expired() : undefined));
    const events = await collect(ownerClient(owned.fetch).subscribe(runId, { mode: "long-poll" }));
    expectWholeLog(events, runId);
    expect(owned.calls.filter((c) => !isPoll(c))).toHaveLength(2);
    // Refused twice in a row: thrown, not looped.
    const always = recorder(() => expired());
    const twice = await rejection(collect(ownerClient(always.fetch).subscribe(runId, { mode: "long-poll" })));
    expect((twice as StagecastApiError).code).toBe("token_expired");
    expect(polls(always.calls)).toHaveLength(2);
  });

  it("follows a live run to its end through Varnish with a pollUrl pointing at the CDN", async () => {
    const { runId } = await ownerClient().startRun({ question: QUESTION });
    const link = (await ownerClient().getWatchLink(runId)).links.poll;
    const viaCdn = `${cdn.url}${link.slice(stack.url.length)}`;
    const watchers = [recorder(), recorder()];
    const [first, second] = await Promise.all(watchers.map((w) => collect(audience(w.fetch).watch(viaCdn))));
    expectWholeLog(first ?? [], runId);
    expect(second).toEqual(first);
    expect(first).toEqual((await stack.store.events.read(runId, 0, 1000)).events);
    for (const w of watchers) {
      expect(w.calls.every((c) => c.url.startsWith(`${cdn.url}/runs/${runId}/poll?token=`))).toBe(true);
    }
    // Read again once ended: the same log, from the cache's final pages.
    expect(await collect(audience(recorder().fetch).watch(viaCdn))).toEqual(first);
  });
});
