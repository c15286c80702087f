import { type DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { createParser } from "eventsource-parser";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";

/**
 * Helpers for the fault tests (test/e2e/faults.test.ts): a seeded PRNG, fault injection into the
 * shared DynamoDB client's middleware stack, an SSE reader that also reports the `retry:`
 * field, and a client that follows a run across reconnects the way an EventSource does.
 */

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] from `rand`. */
export const randInt = (rand: () => number, lo: number, hi: number): number =>
  lo + Math.floor(rand() * (hi - lo + 1));

/** `n` increasing 1-based ordinals whose gaps are seeded integers in [lo, hi]. */
export function seededOrdinals(rand: () => number, n: number, lo: number, hi: number): number[] {
  const out: number[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += randInt(rand, lo, hi);
    out.push(at);
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// DynamoDB fault injection

/** One logical SDK call (all its SDK attempts), as a fault rule sees it. */
export interface DynamoCall {
  /** e.g. `PutItemCommand`, `QueryCommand`. */
  command: string;
  // biome-ignore lint/suspicious/noExplicitAny: the command input as the caller built it (any command).
  input: Record<string, any>;
}

/**
 * What to do with one logical call:
 * - `reach`: throw `error` outside the SDK's retry layer, so it reaches the store at once —
 *   what the store sees once every SDK attempt was throttled, without the SDK's backoff waits;
 * - `attempts`: inside the retry layer, fail SDK attempts 1..`count` (each with a fresh
 *   error), `before` sending (nothing written, like real throttling) or `after` the response
 *   came back (the write landed but its acknowledgement was lost, like a connection reset
 *   while reading the response). `count` below the SDK's max attempts is absorbed by the SDK's
 *   retries; at or above it the error reaches the store after the SDK's real backoff.
 */
export type FaultPlan = { kind: "reach"; error: () => Error } | AttemptsPlan | undefined;

/** Fail SDK attempts 1..`count` of one call (see {@link FaultPlan}). */
export interface AttemptsPlan {
  kind: "attempts";
  count: number;
  when: "before" | "after";
  error: () => Error;
}

/** A ProvisionedThroughputExceededException like DynamoDB's (the SDK classifies it as throttling). */
export const throttlingError = (): Error =>
  new ProvisionedThroughputExceededException({ $metadata: {}, message: "throttled" });

/** A connection reset while reading the response (the SDK classifies it as transient and retries). */
export const connectionResetError = (): Error =>
  Object.assign(new Error("read ECONNRESET (injected)"), { code: "ECONNRESET" });

/** What an injector saw, for assertions. */
export interface InjectionLog {
  /** Errors thrown, one entry per throw: `reach`, or `attempt <n>/<max>`. */
  thrown: string[];
  /** SDK attempts that passed through the inner layer per logical call (keyed by plan order). */
  attempts: number[];
}

type Handler = (args: MiddlewareArgs) => Promise<unknown>;
// biome-ignore lint/suspicious/noExplicitAny: the SDK's middleware arguments (input, and an HttpRequest from serialize on).
type MiddlewareArgs = { input: Record<string, any>; request?: { headers?: Record<string, string> } };

/**
 * Inject faults into `client` (every part of the local stack shares it) through its
 * middleware stack: `rule` is asked once per logical call, in the initialize step (outside the
 * SDK's retry middleware); an `attempts` plan is carried out by a second middleware in the
 * finalizeRequest step after the retry middleware (priority high), so every SDK attempt
 * passes through it and the SDK's own retries apply to the injected errors as to real ones.
 * @returns what was injected and a function removing both middlewares (call it in `finally`).
 */
export function injectDynamoFaults(
  client: DynamoDBClient,
  name: string,
  rule: (call: DynamoCall) => FaultPlan,
): { log: InjectionLog; remove: () => void } {
  const log: InjectionLog = { thrown: [], attempts: [] };
  const plans = new WeakMap<object, { plan: AttemptsPlan; index: number }>();
  const outer =
    (next: Handler, context: { commandName?: string }) =>
    async (args: MiddlewareArgs): Promise<unknown> => {
      const plan = rule({ command: context.commandName ?? "", input: args.input });
      if (plan?.kind === "reach") {
        log.thrown.push("reach");
        throw plan.error();
      }
      if (plan) {
        plans.set(args.input, { plan, index: log.attempts.length });
        log.attempts.push(0);
      }
      return next(args);
    };
  const inner =
    (next: Handler) =>
    async (args: MiddlewareArgs): Promise<unknown> => {
      const planned = plans.get(args.input);
      if (!planned) return next(args);
      const { plan, index } = planned;
      const header = args.request?.headers?.["amz-sdk-request"] ?? "";
      const [, attempt = "1", max = "?"] = /attempt=(\d+); max=(\d+)/.exec(header) ?? [];
      log.attempts[index] = Number(attempt);
      const fail = Number(attempt) <= plan.count;
      if (fail && plan.when === "before") {
        log.thrown.push(`attempt ${attempt}/${max}`);
        throw plan.error();
      }
      const out = await next(args);
      if (fail && plan.when === "after") {
        log.thrown.push(`attempt ${attempt}/${max}`);
        throw plan.error();
      }
      return out;
    };
  client.middlewareStack.add(outer as never, { step: "initialize", name: `${name}-outer`, priority: "high" });
  client.middlewareStack.add(inner as never, {
    step: "finalizeRequest",
    name: `${name}-inner`,
    priority: "low",
  });
  return {
    log,
    remove: () => {
      client.middlewareStack.remove(`${name}-outer`);
      client.middlewareStack.remove(`${name}-inner`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SSE client

/** A frame as a client saw it, with the time it arrived (ms since epoch). */
export interface Frame {
  id?: string | undefined;
  event?: string | undefined;
  data: string;
  at: number;
}

/** What one connection to the stream gave. */
export interface Session {
  status: number;
  frames: Frame[];
  comments: string[];
  /** The last `retry:` value the server sent, if any. */
  retryMs?: number;
  /** Whether the server ended the response (false when we dropped it). */
  ended: boolean;
}

/**
 * Read one SSE response over real HTTP with eventsource-parser, capturing `retry:` (onRetry),
 * until the server ends it or `stopAfter` frames carrying an id have arrived (then the
 * connection is dropped; frames after the k-th in the same chunk count as never received).
 */
export async function readSession(
  url: string,
  options: { lastEventId?: string; stopAfter?: number; timeoutMs?: number } = {},
): Promise<Session> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20_000);
  const frames: Frame[] = [];
  const comments: string[] = [];
  let retryMs: number | undefined;
  try {
    const res = await fetch(url, {
      headers: options.lastEventId === undefined ? {} : { "last-event-id": options.lastEventId },
      signal: controller.signal,
    });
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
      await res.body?.cancel();
      return { status: res.status, frames, comments, ended: true };
    }
    let stop = false;
    let withId = 0;
    const parser = createParser({
      onEvent: (e) => {
        if (stop) return;
        frames.push({ id: e.id, event: e.event, data: e.data, at: Date.now() });
        if (e.id !== undefined) withId++;
        if (options.stopAfter !== undefined && withId >= options.stopAfter) stop = true;
      },
      onRetry: (ms) => {
        if (!stop) retryMs = ms;
      },
      onComment: (c) => comments.push(c),
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { status: res.status, frames, comments, ended: true, ...retry(retryMs) };
      parser.feed(value);
      if (stop) {
        controller.abort();
        await reader.cancel().catch(() => undefined);
        return { status: res.status, frames, comments, ended: false, ...retry(retryMs) };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

const retry = (ms: number | undefined) => (ms === undefined ? {} : { retryMs: ms });

/** How one connection of {@link followRun} ended. */
export interface SessionSummary {
  status: number;
  lastEventId: string | undefined;
  /** Frames carrying an id (stored events) this connection delivered. */
  frames: number;
  /** `terminal` (got the terminal event), `ended` (an `ended` frame), `cut` (we dropped it), `retry` (server ended with a `reconnect` frame), `eof` (ended without one), `no-content` (204), `error` (non-SSE status). */
  end: "terminal" | "ended" | "cut" | "retry" | "eof" | "no-content" | "error";
  retryMs?: number;
  /** How long the connection lasted (ms). */
  durationMs: number;
}

/** Everything a following client received. */
export interface FollowResult {
  /** The frames that carry an id, across every connection, in arrival order (heartbeats excluded). */
  frames: Frame[];
  events: RunEvent[];
  sessions: SessionSummary[];
  heartbeats: number;
}

/**
 * Follow a run's stream to its terminal event like an EventSource: on every end of the
 * response (a `retry:` hint, a plain end, a 5xx) reconnect with `Last-Event-ID` = the last id
 * received, waiting the server's retry hint (capped by `maxRetryWaitMs`). `cutAfter(i)`, when it
 * returns a number k, drops connection i after k frames (the client-side cut). Does not
 * de-duplicate: a repeated or missing id is for the caller's assertions to find.
 * @throws when the run does not end within `maxSessions` connections.
 */
export async function followRun(
  streamUrl: string,
  options: {
    cutAfter?: (session: number) => number | undefined;
    maxSessions?: number;
    maxRetryWaitMs?: number;
    onEvent?: (event: RunEvent) => void;
  } = {},
): Promise<FollowResult> {
  const frames: Frame[] = [];
  const events: RunEvent[] = [];
  const sessions: SessionSummary[] = [];
  let heartbeats = 0;
  let lastEventId: string | undefined;
  const maxSessions = options.maxSessions ?? 100;
  for (let i = 0; i < maxSessions; i++) {
    const stopAfter = options.cutAfter?.(i);
    const opened = Date.now();
    const s = await readSession(streamUrl, {
      ...(lastEventId === undefined ? {} : { lastEventId }),
      ...(stopAfter === undefined ? {} : { stopAfter }),
    });
    let terminal = false;
    let control: string | undefined;
    for (const f of s.frames) {
      if (f.event === "heartbeat") {
        heartbeats++;
        continue;
      }
      if (f.event === "reconnect" || f.event === "ended") {
        control = f.event;
        continue;
      }
      frames.push(f);
      if (f.id !== undefined) lastEventId = f.id;
      const event = JSON.parse(f.data) as RunEvent;
      events.push(event);
      options.onEvent?.(event);
      if (isTerminalType(event.type)) terminal = true;
    }
    const end: SessionSummary["end"] = terminal
      ? "terminal"
      : s.status === 204
        ? "no-content"
        : s.status !== 200
          ? "error"
          : !s.ended
            ? "cut"
            : control === "reconnect"
              ? "retry"
              : control === "ended"
                ? "ended"
                : "eof";
    sessions.push({
      status: s.status,
      lastEventId,
      frames: s.frames.filter((f) => f.id !== undefined).length,
      end,
      ...retry(s.retryMs),
      durationMs: Date.now() - opened,
    });
    if (terminal || end === "no-content" || end === "ended") return { frames, events, sessions, heartbeats };
    if (end === "retry" || end === "error") {
      await sleep(Math.min(s.retryMs ?? 100, options.maxRetryWaitMs ?? 1000));
    }
  }
  throw new Error(`the run did not end within ${maxSessions} connections: ${JSON.stringify(sessions)}`);
}

// ---------------------------------------------------------------------------------------------
// Offline model knobs

/** POST a knobs patch to the offline model (`/_offline/knobs`). */
export async function setKnobs(offlineModelUrl: string, patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${offlineModelUrl}/_offline/knobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(patch),
  });
  if (res.status !== 200) throw new Error(`knobs answered ${res.status}: ${await res.text()}`);
}

/** DELETE the knobs (back to the defaults). */
export async function resetKnobs(offlineModelUrl: string): Promise<void> {
  await (await fetch(`${offlineModelUrl}/_offline/knobs`, { method: "DELETE" })).body?.cancel();
}

/** Chat-completion calls the offline model received so far. */
export async function modelCalls(offlineModelUrl: string): Promise<number> {
  const stats = (await (await fetch(`${offlineModelUrl}/_offline/stats`)).json()) as { calls: number };
  return stats.calls;
}

/** Wait until the offline model has received at least `n` calls (polls every 5 ms). */
export async function waitForModelCalls(
  offlineModelUrl: string,
  n: number,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await modelCalls(offlineModelUrl)) < n) {
    if (Date.now() > until) throw new Error(`the offline model did not get ${n} calls in ${timeoutMs} ms`);
    await sleep(5);
  }
}
