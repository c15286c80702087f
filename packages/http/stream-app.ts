import type { Context, Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { ulid } from "ulid";
import { AuthError, bearer } from "../auth/index.ts";
import { isTerminalType, type SseMessage, sseBytes, sseComment } from "../events/index.ts";
import type { LogFn } from "../runtime/index.ts";
import { METRIC, type Meter } from "../runtime/index.ts";
import { ANONYMOUS, ENDED_STATUSES, type ProgressStore } from "../store/index.ts";
import type { Workflow } from "../workflow/index.ts";
import { runIdParam } from "./api-app.ts";
import type { AppEnv } from "./app-env.ts";
import { type AuthSettings, authenticate, ownedBy, unauthorized } from "./auth.ts";
import { baseApp } from "./base-app.ts";
import { limitBody, startRunFromRequest } from "./create-run.ts";
import { streamCursor } from "./cursor.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { FLUSH_STRATEGIES, type FlushStrategy, flushWrite } from "./flush.ts";
import { type StreamFormat, type StreamFormatName, streamFormat } from "./stream-format.ts";
import { SYNTHETIC_EVENT_GAP_MS, syntheticRun } from "./synthetic-run.ts";
import { type Tail, type TailSettings, tailRun } from "./tail.ts";
import { TailHub } from "./tail-hub.ts";
import { parseTypeFilter } from "./type-filter.ts";

/** Tunables of the stream (all ms except `padBytes`); see ConfigSchema for defaults and meaning. */
export interface StreamSettings extends TailSettings {
  maxDurationMs: number;
  /** What to write after each batch of frames (see FlushStrategy); a `?flush=` query parameter overrides it. */
  flush: FlushStrategy;
  /**
   * Bytes after which the stream ends (with a `reconnect` frame) and the client resumes. Lambda caps a
   * streamed response (20 MB by default, Lambda quotas); padding makes that reachable.
   */
  maxBytes: number;
}

/** What the stream app needs. */
export interface StreamDeps {
  store: ProgressStore;
  settings: StreamSettings;
  /** With `jwt`, every stream needs its run-scoped stream token (?token= or Authorization). */
  auth: AuthSettings;
  /**
   * What POST /ask-stream starts runs with (seed 004's API). Without it that route answers
   * 404: a stream host that may only read the table cannot start runs.
   */
  start?: { workflow: Workflow; maxActiveRuns: number };
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
 * The stream (a Lambda Function URL in RESPONSE_STREAM mode → functions/stream.ts on AWS;
 * @hono/node-server locally). Routes (docs/api.md):
 * - GET /runs/{runId}/stream tails the run's log as SSE.
 *   - Needs the run's stream token (`?token=` or `Authorization: Bearer`) unless auth is off:
 *     missing, expired, tampered, another run's, wrong audience, `alg: none` → 401 before any byte.
 *   - Resumes after `Last-Event-ID` (header) or `?after=N`; malformed → 400 before any byte.
 *   - `?format=seed` writes seed 004's shape; `?types=stage.*,run.*` narrows the types sent.
 *   - Ends right after the terminal event; a resume at or past it gets 204 (EventSource stops).
 * - POST /ask-stream (seed 004): starts a run as the caller (bearer JWT) and streams it in
 *   the seed's shape on the same response.
 * - GET /test-stream (seed 004): a ~2 s synthetic run, nothing stored, no model, no auth.
 * Every stream: opens with `retry:`, heartbeats while silent, closes before `maxDurationMs` with a `reconnect` frame
 * (a Function URL invocation ends at the function timeout, at most 15 minutes), headers
 * text/event-stream, `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`.
 */
export function createStreamApp(deps: StreamDeps): Hono<AppEnv> {
  const { store, settings } = deps;
  const log = deps.log ?? (() => {});
  const app = baseApp(log);
  // One poller per run for every stream of this process (bench: 500 watchers of a run cost
  // the store what one does).
  const hub = new TailHub(store, settings);

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
    hub,
    deadline: deadlineOf(c, opened),
    log,
  });

  app.get("/runs/:runId/stream", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const from = c.req.query("from");
    if (from !== undefined && from !== "latest") {
      throw new HttpError(400, "invalid_cursor", "from must be 'latest' (or use after / Last-Event-ID).");
    }
    const flush = flushOf(c);
    const format = streamFormat(c.req.query("format"));
    const filter = parseTypeFilter(c.req.query("types"), format.types);
    const lastEventId = c.req.header("last-event-id");
    // Validated even when from=latest ignores it: a malformed cursor is always a 400.
    const cursor = streamCursor(lastEventId, c.req.query("after"));
    let reader = ANONYMOUS;
    if (deps.auth.mode === "jwt") {
      try {
        reader = await deps.auth.streamTokens.verify(
          c.req.query("token") ?? bearer(c.req.header("authorization")),
          runId,
        );
      } catch (err) {
        if (err instanceof AuthError) throw unauthorized(err);
        throw err;
      }
    }
    // One read gives both the snapshot and its seq, so the tail after it misses and repeats nothing.
    const run = ownedBy(await store.viewRun(runId), reader);
    const ended = ENDED_STATUSES.has(run.status) && run.lastSeq > 0;
    // from=latest (and no Last-Event-ID to resume from): a snapshot of the run, then the live
    // tail after it; an ended run still gets its terminal event, so the client sees the end.
    const latest = from === "latest" && !lastEventId;
    const after = latest ? Math.max(0, run.lastSeq - (ended ? 1 : 0)) : cursor;
    if (ended && after >= run.lastSeq) return c.body(null, 204);
    const snapshot =
      latest && format.snapshot
        ? format.snapshot({
            runId,
            status: run.status,
            ...(run.stage === undefined ? {} : { stage: run.stage }),
            progress: run.progress,
            lastSeq: after,
            ...(run.message === undefined ? {} : { message: run.message }),
            question: run.question,
            ...(run.answer === undefined ? {} : { answer: run.answer }),
            ...(run.error === undefined ? {} : { error: run.error }),
            createdAt: run.createdAt,
            updatedAt: run.updatedAt,
          })
        : undefined;
    return respond(c, (stream, opened) =>
      tailRun(
        stream,
        tail(c, opened, {
          runId,
          after,
          logEnd: run.lastSeq,
          createdMs: Date.parse(run.createdAt),
          format,
          ...(filter ? { filter } : {}),
          flush,
          ...(snapshot ? { opening: [snapshot] } : {}),
          // Heartbeats before the first event report where the run is, not progress 0.
          newest: { ...(run.stage === undefined ? {} : { stage: run.stage }), progress: run.progress },
        }),
      ),
    );
  });

  app.post("/ask-stream", authenticate(deps.auth), limitBody(), async (c) => {
    if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
    const flush = flushOf(c);
    const format = streamFormat(c.req.query("format"), "seed");
    const filter = parseTypeFilter(c.req.query("types"), format.types);
    const started = await startRunFromRequest(c, { store, ...deps.start, log });
    const run = await store.viewRun(started.runId);
    c.header("X-Run-Id", started.runId);
    return respond(c, (stream, opened) =>
      tailRun(
        stream,
        tail(c, opened, {
          runId: started.runId,
          after: 0,
          logEnd: run?.lastSeq ?? 0,
          createdMs: run ? Date.parse(run.createdAt) : opened,
          format,
          ...(filter ? { filter } : {}),
          flush,
        }),
      ),
    );
  });

  app.get("/test-stream", (c) => {
    // Every request is a new synthetic run: an EventSource that reconnects after the end (as
    // it does after any 200) is told to stop instead of being served the run again.
    if (c.req.header("last-event-id") !== undefined) return c.body(null, 204);
    const flush = flushOf(c);
    const format: StreamFormat = streamFormat(c.req.query("format"), "seed" satisfies StreamFormatName);
    const filter = parseTypeFilter(c.req.query("types"), format.types);
    return respond(c, async (stream) => {
      const runId = ulid();
      const events = syntheticRun(runId, Date.now());
      await stream.write(sseComment(`test stream ${runId}: synthetic, nothing stored, no model`));
      const opening = format.opening({ runId, elapsedMs: 0, progress: 0, lastSeq: 0 }, settings.retryMs);
      if (typeof opening === "string") await stream.write(opening);
      else await stream.writeSSE(opening);
      for (const event of events) {
        if (stream.aborted) return;
        if (isTerminalType(event.type) || !filter || filter(format.typeOf(event))) {
          const frame: SseMessage = format.frame(event);
          await stream.writeSSE(frame);
          const extra = flushWrite(flush, settings.padBytes, sseBytes(frame));
          if (extra) await stream.write(extra);
        }
        if (!isTerminalType(event.type)) await stream.sleep(SYNTHETIC_EVENT_GAP_MS);
      }
    });
  });
  // The stream is the whole app behind its Function URL: unknown paths get the one error shape.
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
  return app;
}
