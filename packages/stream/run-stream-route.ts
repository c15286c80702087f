import type { Hono } from "hono";
import { AuthError, bearer } from "../auth/index.ts";
import { type AppEnv, HttpError, ownedBy, runIdParam, streamCursor, unauthorized } from "../http/index.ts";
import { ANONYMOUS, ENDED_STATUSES } from "../store/index.ts";
import { streamFormat } from "./stream-format.ts";
import type { StreamKit } from "./stream-kit.ts";
import { parseTypeFilter } from "./type-filter.ts";

/**
 * GET /runs/{runId}/stream: the run's log as SSE, from the cursor (Last-Event-ID, `?after=`,
 * or `?from=latest` with a snapshot), in the format and with the types asked for. 401 before
 * any byte without a valid stream token (auth on); 400 for a malformed cursor, format, types
 * or flush; 404 for someone else's or a missing run; 204 for a resume at or past the end.
 */
export function registerRunStream(app: Hono<AppEnv>, kit: StreamKit): void {
  const { deps, flushOf } = kit;
  const { store } = deps;
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
    const run = ownedBy(await store.runs.view(runId), reader);
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
    return kit.streamRun(c, runId, run, {
      after,
      format,
      ...(filter ? { filter } : {}),
      flush,
      ...(snapshot ? { opening: [snapshot] } : {}),
    });
  });
}
