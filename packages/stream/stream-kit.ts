import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { type AppEnv, type AuthSettings, HttpError } from "../http/index.ts";
import type { LogFn, Meter } from "../observability/index.ts";
import { METRIC } from "../observability/index.ts";
import type { RunAgentInfo } from "../run-start/index.ts";
import type { RunView, Store } from "../store/index.ts";
import type { Workflow } from "../workflow/index.ts";
import { FLUSH_STRATEGIES, type FlushStrategy } from "./flush.ts";
import { type Tail, type TailSettings, tailRun } from "./tail.ts";
import { TailHub } from "./tail-hub.ts";

/** Tunables of the stream (all ms except `padBytes`); see ConfigSchema for defaults and meaning. */
export interface StreamSettings extends TailSettings {
  maxDurationMs: number;
  /** What to write after each batch of frames (see FlushStrategy); a `?flush=` query parameter overrides it. */
  flush: FlushStrategy;
  /**
   * Bytes after which the stream ends (with a `reconnect` frame) and the client resumes. Lambda caps a
   * streamed response at 200 MB (Lambda quotas, since July 2025), and a long padded stream could reach it.
   */
  maxBytes: number;
  /**
   * `true`: every stream and poll of this process shares one {@link TailHub} (one store poller
   * per run); `false`: each request gets a hub of its own and polls the store alone, as one
   * Lambda invocation does (STREAM_SHARE_POLLING).
   */
  sharePolling: boolean;
  /** Longest wait of a poll at the live edge (ms; LONG_POLL_WAIT_MS, at most 25,000). */
  longPollWaitMs: number;
}

/** What the stream app needs. */
export interface StreamDeps {
  store: Store;
  settings: StreamSettings;
  /** With `jwt`, every stream needs its run-scoped stream token (?token= or Authorization). */
  auth: AuthSettings;
  /**
   * What POST /ask-stream (the AutoGen streaming API's route) starts runs with. Without it that route answers
   * 404: a stream host that may only read the table cannot start runs.
   */
  start?: { workflow: Workflow; agent: RunAgentInfo; maxActiveRuns: number };
  log?: LogFn;
  /** Stream metrics (StreamConnections, StreamDuration), published when each stream ends. */
  meter?: Meter;
  /**
   * Time this invocation has left (ms), when the host has a hard limit (Lambda's
   * `getRemainingTimeInMillis`). The stream then ends {@link DEADLINE_MARGIN_MS} before it,
   * even if the function timeout was set below `maxDurationMs`.
   */
  remainingMs?: (c: Context) => number | undefined;
}

/** How long before a hard invocation limit the stream ends, leaving time to write `retry:` and close (ms). */
export const DEADLINE_MARGIN_MS = 2000;

/** Headers every stream carries, so no proxy or CDN buffers or transforms it. */
const STREAM_HEADERS = [
  ["Cache-Control", "no-cache, no-transform"],
  ["X-Accel-Buffering", "no"],
] as const;

/**
 * What every stream route shares: the process's {@link TailHub}, the `?flush=` choice, the
 * stream's deadline, and opening the SSE response with its headers and metrics.
 */
export interface StreamKit {
  deps: StreamDeps;
  log: LogFn;
  /**
   * The flush strategy for this stream: `?flush=` or the configured one.
   * @throws HttpError 400 `invalid_flush`.
   */
  flushOf(c: Context<AppEnv>): FlushStrategy;
  /** Open the SSE response, count it, and publish the stream metrics when it ends. */
  respond(c: Context<AppEnv>, body: (stream: SSEStreamingApi, opened: number) => Promise<void>): Response;
  /**
   * The hub one request waits on: the process's shared one, or a new one for this request
   * alone when `settings.sharePolling` is off.
   */
  hub(): TailHub;
  /** A tail of this stream: `rest` plus the store, settings, hub, deadline (ms since epoch) and log. */
  tail(
    c: Context<AppEnv>,
    opened: number,
    rest: Omit<Tail, "store" | "settings" | "deadline" | "log" | "hub">,
  ): Tail;
  /**
   * Answer with run `runId`'s log from after `options.after`, tailed live (`X-Run-Id` set): the
   * one way every route streams a run. The run's view (as read when the request was served)
   * gives the log's end, the run's start (heartbeats' elapsed time) and where the run is (the
   * first heartbeat's stage and progress); without one (a run just started) the log is empty.
   */
  streamRun(c: Context<AppEnv>, runId: string, run: RunView | undefined, options: RunStreamOptions): Response;
}

/** How {@link StreamKit.streamRun} streams: the cursor, the format and the tail's own options. */
export type RunStreamOptions = { after: number } & Pick<Tail, "format" | "flush"> &
  Partial<Pick<Tail, "filter" | "opening">>;

/** The {@link StreamKit} of one stream app. */
export function streamKit(deps: StreamDeps): StreamKit {
  const { store, settings } = deps;
  const log = deps.log ?? (() => {});
  const hub = hubSource(store, settings);
  const flushOf = (c: Context<AppEnv>): FlushStrategy => {
    const flush = c.req.query("flush") ?? settings.flush;
    if (!(FLUSH_STRATEGIES as readonly string[]).includes(flush)) {
      throw new HttpError(400, "invalid_flush", `flush must be one of ${FLUSH_STRATEGIES.join(", ")}.`);
    }
    return flush as FlushStrategy;
  };
  const deadlineOf = (c: Context<AppEnv>, opened: number) => {
    const remaining = deps.remainingMs?.(c);
    const budget = Math.min(
      settings.maxDurationMs,
      remaining === undefined ? Number.POSITIVE_INFINITY : remaining - DEADLINE_MARGIN_MS,
    );
    return opened + Math.max(0, budget);
  };
  /** Open the SSE response, count it, and publish the stream metrics when it ends. */
  const respond = (c: Context<AppEnv>, body: (stream: SSEStreamingApi, opened: number) => Promise<void>) => {
    const res = streamSSE(c, async (stream) => {
      const opened = Date.now();
      deps.meter?.count(METRIC.StreamConnections);
      await body(stream, opened);
      deps.meter?.durationMs(METRIC.StreamDuration, Date.now() - opened);
      deps.meter?.publish();
    });
    // Both on the response and on the context's prepared headers: a middleware that touched
    // c.res earlier (CORS) makes Hono copy those over the handler's response.
    for (const [name, value] of STREAM_HEADERS) {
      res.headers.set(name, value);
      c.header(name, value);
    }
    return res;
  };
  const tail = (
    c: Context<AppEnv>,
    opened: number,
    rest: Omit<Tail, "store" | "settings" | "deadline" | "log" | "hub">,
  ) => ({
    ...rest,
    store,
    settings,
    hub: hub(),
    deadline: deadlineOf(c, opened),
    log,
  });

  const streamRun = (
    c: Context<AppEnv>,
    runId: string,
    run: RunView | undefined,
    options: RunStreamOptions,
  ) => {
    c.header("X-Run-Id", runId);
    return respond(c, (stream, opened) =>
      tailRun(
        stream,
        tail(c, opened, {
          runId,
          ...options,
          logEnd: run?.lastSeq ?? 0,
          createdMs: run ? Date.parse(run.createdAt) : opened,
          // Heartbeats before the first event report where the run is, not progress 0.
          ...(run
            ? { newest: { ...(run.stage === undefined ? {} : { stage: run.stage }), progress: run.progress } }
            : {}),
        }),
      ),
    );
  };

  return { deps, log, flushOf, respond, hub, tail, streamRun };
}

/**
 * Where each request's {@link TailHub} comes from. Shared (the default): one poller per run for
 * every stream of this process (bench: 500 watchers of a run cost the store what one does).
 * Not shared: a hub per request, so the local stack's store cost per watcher is what it is on
 * Lambda, where each invocation serves one client and polls alone.
 */
function hubSource(store: Store, settings: StreamSettings): () => TailHub {
  if (!settings.sharePolling) return () => new TailHub(store, settings);
  const shared = new TailHub(store, settings);
  return () => shared;
}
