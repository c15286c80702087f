import type { Context, Hono, MiddlewareHandler } from "hono";
import { AuthError, type WatchGrant } from "../auth/index.ts";
import { isTerminalType, type RunEvent } from "../events/index.ts";
import { type AppEnv, HttpError, runIdParam, unauthorized } from "../http/index.ts";
import { ENDED_STATUSES, MAX_SEQ } from "../store/index.ts";
import { NO_STORE, POLL_PAGE_SIZE, pollCacheControl, pollEtag } from "./poll-cache.ts";
import { DEADLINE_MARGIN_MS, type StreamKit } from "./stream-kit.ts";

/**
 * The only query parameters of a poll. Anything else is refused: each distinct URL is its own
 * CDN cache entry, so junk parameters would let a caller split the cache (and make the origin
 * read the store once per spelling).
 */
const POLL_PARAMS: ReadonlySet<string> = new Set(["after", "token"]);

/** One poll's answer before it is framed: events after the cursor, and whether the run has ended. */
interface PollAnswer {
  events: RunEvent[];
  ended: boolean;
}

/**
 * GET /runs/{runId}/poll?after=N&token=T: long-poll reads of a run's log keyed by cursor, made to
 * sit behind a CDN (CloudFront, locally Varnish: local/cdn/stagecast.vcl). The answer for a
 * cursor is the same for every watcher, so a cache turns N identical requests into one origin
 * read. 200 JSON `{ runId, events, next, ended }`: at most 100 events with seq > N; `next` is the
 * last one's seq (or N); `ended` when the terminal event is among them or at/below N. With no
 * event after N and the run going on, it waits up to `longPollWaitMs` on the kit's hub, then
 * answers (possibly empty). Headers: Cache-Control by the rule of poll-cache.ts, a strong ETag,
 * no Vary (CORS: see compose's corsMiddleware). Errors (all `no-store`): 400 `invalid_run_id`,
 * `invalid_query` (a parameter other than `after` and `token`, percent-encoded, or given twice),
 * `invalid_cursor` (also a non-canonical `after` such as `007`); 401 `missing_token` /
 * `invalid_token` / `token_expired` (auth on: the run's watch token in `?token=`, checked before
 * any store read; `Authorization` is not read, since a CDN does not key on it); 404
 * `run_not_found`; 503 `store_unavailable`.
 */
export function registerPoll(app: Hono<AppEnv>, kit: StreamKit): void {
  app.use("/runs/:runId/poll", noStoreOnError);
  app.get("/runs/:runId/poll", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const { after, token } = pollQuery(c);
    const grant = await checkWatchToken(kit, token, runId);
    const answer = await pollRun(kit, c, runId, after);
    const next = answer.events.at(-1)?.seq ?? after;
    c.header(
      "Cache-Control",
      pollCacheControl({ events: answer.events.length, ended: answer.ended }, grant?.exp, Date.now()),
    );
    c.header("ETag", pollEtag(runId, after, next, answer.ended));
    return c.json({ runId, events: answer.events, next, ended: answer.ended });
  });
}

/** Every error answer of the route is `no-store`, whichever layer made it (handler, error handler, not-found). */
const noStoreOnError: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status >= 400) c.header("Cache-Control", NO_STORE);
};

/**
 * The cursor and token of a poll, read from the raw query string (not decoded): a parameter
 * spelled with percent-encoding would be another URL, so another cache entry, for the same answer.
 * @throws HttpError 400 `invalid_query` for an unknown (or percent-encoded) or repeated
 *   parameter, 400 `invalid_cursor` for an `after` that is not the canonical decimal of a seq
 *   (0..MAX_SEQ: no leading zeros, spaces, sign or encoding).
 */
function pollQuery(c: Context<AppEnv>): { after: number; token: string | undefined } {
  const search = new URL(c.req.url).search.slice(1);
  const values = new Map<string, string>();
  for (const pair of search === "" ? [] : search.split("&")) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!POLL_PARAMS.has(name))
      throw new HttpError(400, "invalid_query", "A poll takes only the query parameters after and token.");
    if (values.has(name)) throw new HttpError(400, "invalid_query", "after and token may each appear once.");
    values.set(name, eq < 0 ? "" : pair.slice(eq + 1));
  }
  const raw = values.get("after");
  if (raw !== undefined && (!/^(0|[1-9]\d{0,9})$/.test(raw) || Number(raw) > MAX_SEQ)) {
    throw new HttpError(
      400,
      "invalid_cursor",
      "after must be a non-negative integer sequence number, without leading zeros, spaces or encoding.",
    );
  }
  return { after: raw === undefined ? 0 : Number(raw), token: values.get("token") };
}

/**
 * The watch token's grant with auth on; undefined with auth off (no token needed).
 * @throws HttpError 401 with the AuthError's code.
 */
async function checkWatchToken(
  kit: StreamKit,
  token: string | undefined,
  runId: string,
): Promise<WatchGrant | undefined> {
  const { auth } = kit.deps;
  if (auth.mode !== "jwt") return undefined;
  try {
    return await auth.watchTokens.verify(token, runId);
  } catch (err) {
    if (err instanceof AuthError) throw unauthorized(err);
    throw err;
  }
}

/**
 * The answer for cursor `after`: the store's events after it if any; otherwise (the run known
 * and not ended at or below `after`) what the hub sees within the wait budget.
 * @throws HttpError 404 `run_not_found` when the run does not exist.
 */
async function pollRun(
  kit: StreamKit,
  c: Context<AppEnv>,
  runId: string,
  after: number,
): Promise<PollAnswer> {
  const { store } = kit.deps;
  const page = await store.events.read(runId, after, POLL_PAGE_SIZE);
  if (page.events.length > 0) return answerOf(page.events, after);
  const run = await store.runs.view(runId);
  if (!run) throw new HttpError(404, "run_not_found", "No run with that id.");
  if (ENDED_STATUSES.has(run.status) && run.lastSeq > 0 && after >= run.lastSeq)
    return { events: [], ended: true };
  const waitMs = waitBudget(kit, c);
  if (waitMs <= 0) return { events: [], ended: false };
  // The hub never starts its poller past the log (run.lastSeq), so a cursor ahead of the log
  // waits like an idle one and learns of the end when the terminal event is read.
  const next = await kit.hub().next(runId, after, waitMs, c.req.raw.signal, run.lastSeq);
  if (next.ended) return { events: [], ended: true };
  if (next.behind) return answerOf((await store.events.read(runId, after, POLL_PAGE_SIZE)).events, after);
  return answerOf(next.events, after);
}

/** At most one page of `events` after `after`; ended when the terminal event is among them. */
function answerOf(events: RunEvent[], after: number): PollAnswer {
  const page = events.filter((e) => e.seq > after).slice(0, POLL_PAGE_SIZE);
  return { events: page, ended: page.some((e) => isTerminalType(e.type)) };
}

/**
 * How long this poll may wait (ms): `longPollWaitMs`, and on Lambda no later than
 * {@link DEADLINE_MARGIN_MS} before the invocation's own limit.
 */
function waitBudget(kit: StreamKit, c: Context<AppEnv>): number {
  const remaining = kit.deps.remainingMs?.(c);
  const cap = remaining === undefined ? Number.POSITIVE_INFINITY : remaining - DEADLINE_MARGIN_MS;
  return Math.min(kit.deps.settings.longPollWaitMs, cap);
}
