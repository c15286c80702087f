import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { AuthError, bearer } from "../auth/index.ts";
import {
  heartbeatMessage,
  isTerminalType,
  type RunEvent,
  type SseMessage,
  snapshotMessage,
  sseBytes,
  sseComment,
  toSseMessage,
} from "../events/index.ts";
import type { LogFn } from "../runtime/logger.ts";
import { METRIC, type Meter } from "../runtime/metrics.ts";
import type { ProgressStore } from "../store/index.ts";
import { runIdParam } from "./api-app.ts";
import { type AuthSettings, unauthorized } from "./auth.ts";
import { baseApp } from "./base-app.ts";
import { streamCursor } from "./cursor.ts";
import { HttpError } from "./errors.ts";
import { FLUSH_STRATEGIES, type FlushStrategy, flushWrite } from "./flush.ts";

/** Tunables of the stream (all ms except `padBytes`); see ConfigSchema for defaults and meaning. */
export interface StreamSettings {
  pollMinMs: number;
  pollMaxMs: number;
  heartbeatMs: number;
  maxDurationMs: number;
  retryMs: number;
  /** What to write after each batch of frames (see FlushStrategy); a `?flush=` query parameter overrides it. */
  flush: FlushStrategy;
  /** The batch size the `pad` strategy brings each batch up to (bytes). */
  padBytes: number;
  /**
   * Bytes after which the stream ends (with `retry:`) and the client resumes. Lambda caps a
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

/** Run statuses that mean the log has its terminal event. */
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled", "timed_out"]);

/** Events read per store query while tailing (the page also stops at DynamoDB's 1 MB cap). */
const TAIL_PAGE = 100;

/**
 * The stream (a Lambda Function URL in RESPONSE_STREAM mode → functions/stream.ts on AWS;
 * @hono/node-server locally): GET /runs/{runId}/stream tails the run's log as SSE.
 *
 * - Needs the run's stream token (`?token=` or `Authorization: Bearer`) unless auth is off:
 *   missing, expired, tampered, another run's, wrong audience, `alg: none` → 401 before any byte.
 * - Resumes after `Last-Event-ID` (header) or `?after=N`; malformed → 400 before any byte.
 * - Each stored event is one frame: `id: seq`, `event: type`, `data: <event JSON>`.
 * - Ends right after the terminal event; a resume at or past it gets 204 (EventSource stops).
 * - `heartbeat` frames (no id) every `heartbeatMs` while nothing else is sent.
 * - Polls the store adaptively: `pollMinMs` after activity, doubling to `pollMaxMs` when idle.
 * - Closes cleanly before `maxDurationMs` with a `retry:` hint so clients reconnect and resume
 *   (a Function URL invocation ends at the function timeout, at most 15 minutes).
 * - Headers: text/event-stream, `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`.
 */
export function createStreamApp(deps: StreamDeps): Hono {
  const { store, settings } = deps;
  const log = deps.log ?? (() => {});
  const app = baseApp(log);

  app.get("/runs/:runId/stream", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const from = c.req.query("from");
    if (from !== undefined && from !== "latest") {
      throw new HttpError(400, "invalid_cursor", "from must be 'latest' (or use after / Last-Event-ID).");
    }
    const flush = c.req.query("flush") ?? settings.flush;
    if (!(FLUSH_STRATEGIES as readonly string[]).includes(flush)) {
      throw new HttpError(400, "invalid_flush", `flush must be one of ${FLUSH_STRATEGIES.join(", ")}.`);
    }
    const lastEventId = c.req.header("last-event-id");
    // Validated even when from=latest ignores it: a malformed cursor is always a 400.
    const cursor = streamCursor(lastEventId, c.req.query("after"));
    // One read gives both the snapshot and its seq, so the tail after it misses and repeats nothing.
    let reader = "anonymous";
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
    const run = await store.viewRun(runId);
    if (!run || (run.owner ?? "anonymous") !== reader)
      throw new HttpError(404, "run_not_found", "No run with that id.");
    const ended = TERMINAL_STATUSES.has(run.status) && run.lastSeq > 0;
    // from=latest (and no Last-Event-ID to resume from): a snapshot of the run, then the live
    // tail after it; an ended run still gets its terminal event, so the client sees the end.
    const latest = from === "latest" && !lastEventId;
    const after = latest ? Math.max(0, run.lastSeq - (ended ? 1 : 0)) : cursor;
    if (ended && after >= run.lastSeq) return c.body(null, 204);

    const createdMs = Date.parse(run.createdAt);
    const res = streamSSE(c, async (stream) => {
      const opened = Date.now();
      deps.meter?.count(METRIC.StreamConnections);
      const remaining = deps.remainingMs?.(c);
      const budget = Math.min(
        settings.maxDurationMs,
        remaining === undefined ? Number.POSITIVE_INFINITY : remaining - DEADLINE_MARGIN_MS,
      );
      const deadline = opened + Math.max(0, budget);
      let cursor = after;
      let newest: Pick<RunEvent, "stage" | "progress"> | undefined = latest
        ? { ...(run.stage === undefined ? {} : { stage: run.stage }), progress: run.progress }
        : undefined;
      let lastWrite = opened;
      let pollMs = settings.pollMinMs;
      let batchBytes = 0;
      let sent = 0;
      const send = async (message: SseMessage) => {
        await stream.writeSSE(message);
        const bytes = sseBytes(message);
        batchBytes += bytes;
        sent += bytes;
      };
      const endBatch = async () => {
        const extra = flushWrite(flush as FlushStrategy, settings.padBytes, batchBytes);
        if (extra) {
          await stream.write(extra);
          sent += extra.length;
        }
        batchBytes = 0;
      };
      // Write at once: the Lambda runtime sends status and headers only with the first byte.
      const opening = sseComment(`stream ${runId} after ${after}`);
      await stream.write(opening);
      batchBytes += opening.length;
      if (latest) {
        await send(
          snapshotMessage({
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
          }),
        );
      }
      await endBatch();
      try {
        while (!stream.aborted) {
          const page = await store.readEvents(runId, cursor, TAIL_PAGE);
          let ended = false;
          for (const event of page.events) {
            await send(toSseMessage(event));
            cursor = event.seq;
            newest = event;
            if (isTerminalType(event.type)) {
              ended = true;
              break;
            }
          }
          const now = Date.now();
          if (page.events.length > 0) {
            await endBatch();
            lastWrite = now;
            pollMs = settings.pollMinMs;
            if (ended) return;
            if (page.hasMore && now < deadline && sent < settings.maxBytes) continue;
          } else {
            pollMs = Math.min(settings.pollMaxMs, pollMs * 2);
          }
          if (now - lastWrite >= settings.heartbeatMs) {
            await send(
              heartbeatMessage({
                runId,
                elapsedMs: Math.max(0, now - createdMs),
                ...(newest?.stage === undefined ? {} : { stage: newest.stage }),
                progress: newest?.progress ?? 0,
                lastSeq: cursor,
              }),
            );
            await endBatch();
            lastWrite = now;
          }
          // A Lambda streamed response is capped in size: end before it, the client resumes.
          if (now >= deadline || sent >= settings.maxBytes) break;
          await stream.sleep(Math.min(pollMs, Math.max(1, deadline - now)));
        }
      } catch (err) {
        // Mid-stream the status is already sent: end with a retry hint; the client resumes from its last id.
        log({
          level: "warn",
          msg: "stream tail failed; asking the client to reconnect",
          runId,
          error: String(err),
        });
      }
      if (!stream.aborted) await stream.write(`retry: ${settings.retryMs}\n\n`);
      deps.meter?.durationMs(METRIC.StreamDuration, Date.now() - opened);
      deps.meter?.publish();
    });
    // Both on the response and on the context's prepared headers: a middleware that touched
    // c.res earlier (CORS) makes Hono copy those over the handler's response.
    for (const [name, value] of [
      ["Cache-Control", "no-cache, no-transform"],
      ["X-Accel-Buffering", "no"],
    ] as const) {
      res.headers.set(name, value);
      c.header(name, value);
    }
    return res;
  });
  return app;
}
