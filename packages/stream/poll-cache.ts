/**
 * The cacheability rule of GET /runs/{runId}/poll (docs/api.md, "GET /runs/{runId}/poll"), in one
 * pure module so it is tested apart from HTTP.
 *
 * Why a poll answer may be shared at all: the log is append-only and its seqs are dense, so the
 * events after cursor N are the same for everyone, and a response for N is valid for every
 * client at N. The response does not depend on who asks (the watch token is one string for all
 * watchers of a run and is part of the URL, so of the cache key), so it is `public`.
 *
 * The rule:
 * - a final range (the run's terminal event is in it or at/below N, or the page is full, 100
 *   events: nothing can ever be added inside it) → `public, max-age=<s>, immutable`, s =
 *   min(31,536,000, whole seconds until the token's `exp`): a cached body never outlives the
 *   credential its URL carries (with auth off there is no token, so one year);
 * - the live edge (empty or short page of a run still going) → `public, max-age=1`, capped the
 *   same way: a CDN collapses the watchers of one second into one origin read, and a watcher is
 *   at most a second behind what the origin would say;
 * - a token with under a second left → `no-store` (nothing may be cached for it);
 * - every error (4xx, 5xx) → `no-store`: a refusal must never be served to another URL holder,
 *   and a transient 503 must not stick.
 */

/** Most events one poll answer carries (also what makes a page "full", so final). */
export const POLL_PAGE_SIZE = 100;

/** Longest max-age (s): one year, the conventional "forever" (RFC 8246, immutable). */
export const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

/** max-age of a live-edge answer (s). */
export const LIVE_EDGE_MAX_AGE_SECONDS = 1;

/** Cache-Control of every error answer and of anything that must not be stored. */
export const NO_STORE = "no-store";

/** What the rule needs to know about one poll answer. */
export interface PollAnswerShape {
  /** Events in the answer (0..{@link POLL_PAGE_SIZE}). */
  events: number;
  /** The run's terminal event is in the answer or at/below its cursor. */
  ended: boolean;
}

/**
 * Cache-Control of a successful poll answer (see the rule above).
 * @param answer how many events it carries and whether the run has ended.
 * @param tokenExp the watch token's `exp` (s since epoch), undefined with auth off.
 * @param nowMs the current time (ms since epoch).
 */
export function pollCacheControl(
  answer: PollAnswerShape,
  tokenExp: number | undefined,
  nowMs: number,
): string {
  const final = answer.ended || answer.events >= POLL_PAGE_SIZE;
  const left = tokenExp === undefined ? Number.POSITIVE_INFINITY : Math.floor(tokenExp - nowMs / 1000);
  const wanted = final ? IMMUTABLE_MAX_AGE_SECONDS : LIVE_EDGE_MAX_AGE_SECONDS;
  const maxAge = Math.min(wanted, left);
  if (maxAge < 1) return NO_STORE;
  return final ? `public, max-age=${maxAge}, immutable` : `public, max-age=${maxAge}`;
}

/**
 * A strong ETag of a poll answer: its body is a function of these four values alone (the
 * events in (after, next] never change once written), so equal tags mean equal bytes.
 */
export function pollEtag(runId: string, after: number, next: number, ended: boolean): string {
  return `"${runId}.${after}.${next}.${ended ? "e" : "o"}"`;
}
