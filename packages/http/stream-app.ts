import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import { streamSSE } from "hono/streaming";
import {
  heartbeatMessage,
  isTerminalType,
  type RunEvent,
  sseComment,
  toSseMessage,
} from "../events/index.ts";
import type { LogFn } from "../runtime/logger.ts";
import type { ProgressStore } from "../store/index.ts";
import { runIdParam } from "./api-app.ts";
import { streamCursor } from "./cursor.ts";
import { HttpError, onAppError } from "./errors.ts";

/** Tunables of the stream (all ms except `padBytes`); see ConfigSchema for defaults and meaning. */
export interface StreamSettings {
  pollMinMs: number;
  pollMaxMs: number;
  heartbeatMs: number;
  maxDurationMs: number;
  retryMs: number;
  /** SSE comment padding after each batch of frames (bytes), for front ends that hold back small writes. */
  padBytes: number;
}

/** What the stream app needs. */
export interface StreamDeps {
  store: ProgressStore;
  settings: StreamSettings;
  log?: LogFn;
  /**
   * Time this invocation has left (ms), when the host has a hard limit (Lambda's
   * `getRemainingTimeInMillis`). The stream then ends {@link DEADLINE_MARGIN_MS} before it,
   * even if the function timeout was set below `maxDurationMs`.
   */
  remainingMs?: (c: Context) => number | undefined;
}

/** How long before a hard invocation limit the stream ends, leaving time to write `retry:` and close (ms). */
export const DEADLINE_MARGIN_MS = 2000;

/** Events read per store query while tailing (the page also stops at DynamoDB's 1 MB cap). */
const TAIL_PAGE = 100;

/**
 * The stream (a Lambda Function URL in RESPONSE_STREAM mode → functions/stream.ts on AWS;
 * @hono/node-server locally): GET /runs/{runId}/stream tails the run's log as SSE.
 *
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
  const app = new Hono();
  app.use(requestId());
  app.onError(onAppError(log));

  app.get("/runs/:runId/stream", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const after = streamCursor(c.req.header("last-event-id"), c.req.query("after"));
    const [run, last] = await Promise.all([store.getRun(runId), store.lastEvent(runId)]);
    if (!run) throw new HttpError(404, "run_not_found", "No run with that id.");
    if (last && isTerminalType(last.type) && after >= last.seq) return c.body(null, 204);

    const createdMs = Date.parse(run.createdAt);
    const res = streamSSE(c, async (stream) => {
      const opened = Date.now();
      const remaining = deps.remainingMs?.(c);
      const budget = Math.min(
        settings.maxDurationMs,
        remaining === undefined ? Number.POSITIVE_INFINITY : remaining - DEADLINE_MARGIN_MS,
      );
      const deadline = opened + Math.max(0, budget);
      const pad = settings.padBytes > 0 ? sseComment(" ".repeat(settings.padBytes)) : "";
      let cursor = after;
      let latest: RunEvent | undefined;
      let lastWrite = opened;
      let pollMs = settings.pollMinMs;
      // Write at once: the Lambda runtime sends status and headers only with the first byte.
      await stream.write(sseComment(`stream ${runId} after ${after}`) + pad);
      try {
        while (!stream.aborted) {
          const page = await store.readEvents(runId, cursor, TAIL_PAGE);
          let ended = false;
          for (const event of page.events) {
            await stream.writeSSE(toSseMessage(event));
            cursor = event.seq;
            latest = event;
            if (isTerminalType(event.type)) {
              ended = true;
              break;
            }
          }
          const now = Date.now();
          if (page.events.length > 0) {
            if (pad) await stream.write(pad);
            lastWrite = now;
            pollMs = settings.pollMinMs;
            if (ended) return;
            if (page.hasMore) continue;
          } else {
            pollMs = Math.min(settings.pollMaxMs, pollMs * 2);
          }
          if (now - lastWrite >= settings.heartbeatMs) {
            await stream.writeSSE(
              heartbeatMessage({
                runId,
                elapsedMs: Math.max(0, now - createdMs),
                ...(latest?.stage === undefined ? {} : { stage: latest.stage }),
                progress: latest?.progress ?? 0,
                lastSeq: cursor,
              }),
            );
            if (pad) await stream.write(pad);
            lastWrite = now;
          }
          if (now >= deadline) break;
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
    });
    res.headers.set("Cache-Control", "no-cache, no-transform");
    res.headers.set("X-Accel-Buffering", "no");
    return res;
  });
  return app;
}
