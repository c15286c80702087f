import { isTerminalType, type RunEvent, RunEventSchema } from "../events/index.ts";
import { type BackoffSettings, RETRYABLE_STATUSES, retryDelayMs, sleep } from "./backoff.ts";
import {
  InvalidPollUrlError,
  StagecastApiError,
  StagecastConnectionError,
  StagecastProtocolError,
} from "./errors.ts";
import { apiError } from "./http.ts";
import { type PollLink, pollRequestUrl } from "./poll-link.ts";
import type { SubscribeOptions } from "./types.ts";

/** What a long-poll subscription needs from the client it belongs to. */
export interface PollSubscriptionDeps extends BackoffSettings {
  fetch: typeof fetch;
  /** A link to poll as it is (a shared one: then no API call is ever made). */
  link?: PollLink;
  /**
   * A fresh link for the run (the owner's POST /runs/{runId}/watch-token). Without it a 401 is
   * final; with it a 401 gets one new link (the token's window rolled over) before it is thrown.
   */
  newLink?: (signal?: AbortSignal) => Promise<PollLink>;
  /** Longest one poll may take (ms) before it counts as a failed attempt; default {@link POLL_TIMEOUT_MS}. */
  requestTimeoutMs?: number;
}

/**
 * Default limit of one poll (ms): the server waits at most 25 s at the live edge and a CDN
 * in front of it at most 30 s for the origin, so a poll silent for a minute is a dead connection.
 */
export const POLL_TIMEOUT_MS = 60_000;

/**
 * Least time (ms) between the starts of two polls when the first brought nothing new. An empty
 * live-edge answer may be cached for 1 s (max-age=1, by a CDN or the browser's own cache), so
 * without this pause a watcher would re-read the same cached empty answer in a loop.
 */
export const EMPTY_POLL_INTERVAL_MS = 1000;

/** Refresh a link this long before its token expires (ms), so a poll never carries a lapsing token. */
const LINK_SKEW_MS = 30_000;

/** One 200 answer of GET /runs/{runId}/poll (docs/api.md). */
interface PollAnswer {
  events: RunEvent[];
  ended: boolean;
}

/**
 * The long-poll subscription behind `client.subscribe(runId, { mode: "long-poll" })` and
 * `client.watch(pollUrl)`: GET `<link>&after=<cursor>` in a loop (docs/api.md, "GET
 * /runs/{runId}/poll"), with the guarantees of the SSE path (subscribe.ts):
 * - each event once, in seq order: the cursor is the last seq delivered, and anything at or
 *   below it is dropped (a cached or repeated answer cannot repeat an event);
 * - ends after the terminal event, or when an answer says `ended` at or below the cursor (a run
 *   that had ended before `after`), or quietly when `signal` aborts (the poll in flight is
 *   aborted, and no request follows);
 * - a network failure, a timeout ({@link POLL_TIMEOUT_MS}) or a retryable status (503 with its
 *   Retry-After, 429, 5xx…) is retried with the shared backoff, reported through `onState`
 *   (`reconnecting` with the failure count, `open` again after a success), and after
 *   `maxRetries` consecutive failures it throws StagecastConnectionError (`cause`: the last one);
 * - a 401 with `newLink` (the owner) gets one new link; otherwise, and for 400/403/404, it
 *   throws the StagecastApiError; an answer that is not the poll's JSON throws StagecastProtocolError.
 */
export async function* pollSubscription(
  deps: PollSubscriptionDeps,
  options: SubscribeOptions = {},
): AsyncGenerator<RunEvent> {
  const { signal } = options;
  const wanted = typeMatcher(options.types);
  let cursor = options.after ?? 0;
  let link = deps.link;
  let failures = 0;
  let refreshed = false;
  let open = false;
  let lastError: unknown;
  const state = (s: "connecting" | "open" | "reconnecting") => options.onState?.(s, failures);
  state("connecting");
  while (!signal?.aborted) {
    if (failures > deps.maxRetries) {
      throw new StagecastConnectionError(`could not poll after ${deps.maxRetries} attempts`, {
        cause: lastError,
      });
    }
    const startedAt = Date.now();
    let answer: PollAnswer;
    let polled = false; // the failure, if any, is the poll's (not the watch-token call's)
    try {
      link = await usableLink(deps, link, signal);
      if (signal?.aborted) return;
      polled = true;
      answer = await pollOnce(deps, pollRequestUrl(link, cursor), signal);
    } catch (err) {
      if (signal?.aborted) return;
      if (polled && isExpiredLink(err) && deps.newLink && !refreshed) {
        refreshed = true;
        link = undefined;
        continue;
      }
      if (!isRetryable(err)) throw err;
      lastError = err;
      failures++;
      open = false;
      state("reconnecting");
      await sleep(retryDelayMs(failures, err, deps), signal);
      continue;
    }
    refreshed = false;
    failures = 0;
    if (!open) state("open");
    open = true;
    const before = cursor;
    for (const event of answer.events) {
      if (event.seq <= cursor) continue; // a repeated or out-of-order event: already delivered
      cursor = event.seq;
      if (wanted(event.type)) yield event;
      if (isTerminalType(event.type) || signal?.aborted) return;
    }
    if (answer.ended) return;
    const pause = startedAt + EMPTY_POLL_INTERVAL_MS - Date.now();
    if (cursor === before && pause > 0) await sleep(pause, signal);
  }
}

/**
 * `link` while its token has more than {@link LINK_SKEW_MS} left (or it has no known expiry, or
 * there is no way to get another); else a new one from `newLink`.
 * @throws InvalidPollUrlError when there is neither a link nor `newLink` (a bug of the caller).
 */
async function usableLink(
  deps: PollSubscriptionDeps,
  link: PollLink | undefined,
  signal: AbortSignal | undefined,
): Promise<PollLink> {
  const lapsing = link?.expiresAtMs !== undefined && link.expiresAtMs - LINK_SKEW_MS <= Date.now();
  if (link && (!lapsing || !deps.newLink)) return link;
  if (!deps.newLink) throw new InvalidPollUrlError("a long-poll subscription without a poll link");
  return deps.newLink(signal);
}

/**
 * One GET of `url` within the request timeout, its answer read and checked.
 * @throws StagecastApiError for an error status (with `retryAfterMs`); StagecastProtocolError
 *   for a 200 that is not a poll answer; fetch's TypeError, or a TimeoutError DOMException.
 */
async function pollOnce(deps: PollSubscriptionDeps, url: string, signal?: AbortSignal): Promise<PollAnswer> {
  const timeoutMs = deps.requestTimeoutMs ?? POLL_TIMEOUT_MS;
  const controller = new AbortController();
  const stop = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", stop, { once: true });
  const timer = setTimeout(
    () => controller.abort(new DOMException(`the poll took over ${timeoutMs} ms`, "TimeoutError")),
    timeoutMs,
  );
  try {
    const res = await deps.fetch(url, { headers: { accept: "application/json" }, signal: controller.signal });
    if (!res.ok) throw await apiError(res);
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      if (controller.signal.aborted) throw err;
      throw new StagecastProtocolError(`GET ${new URL(url).pathname} answered ${res.status} without JSON`);
    }
    return pollAnswer(body);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
  }
}

/**
 * `body` as a poll answer, each event validated against the shared schema.
 * @throws StagecastProtocolError when it is not `{ events: [...], ended: boolean }` or an event fails the schema.
 */
function pollAnswer(body: unknown): PollAnswer {
  const { events, ended } = (body ?? {}) as { events?: unknown; ended?: unknown };
  if (!Array.isArray(events) || typeof ended !== "boolean") {
    throw new StagecastProtocolError("a poll answer without its events and ended fields");
  }
  return {
    ended,
    events: events.map((raw) => {
      const parsed = RunEventSchema.safeParse(raw);
      if (!parsed.success) {
        const { seq, type } = (raw ?? {}) as { seq?: unknown; type?: unknown };
        throw new StagecastProtocolError(
          `event ${String(seq)} (${String(type)}) of a poll answer does not match the event schema`,
        );
      }
      return parsed.data;
    }),
  };
}

/** A 401: the link's watch token expired (or was refused); the owner can get a new one. */
const isExpiredLink = (err: unknown) => err instanceof StagecastApiError && err.status === 401;

/** A failure another attempt may fix: network, timeout, or a retryable status (as the SSE path decides). */
function isRetryable(err: unknown): boolean {
  if (err instanceof StagecastProtocolError || err instanceof InvalidPollUrlError) return false;
  if (err instanceof StagecastApiError) return RETRYABLE_STATUSES.has(err.status);
  return true;
}

/**
 * The `types` option as a predicate, matched as the SSE route's filter does (packages/stream
 * type-filter.ts): a type (`llm.delta`), a family (`stage.*`) or `*`; terminal events always pass.
 */
function typeMatcher(types: readonly string[] | undefined): (type: string) => boolean {
  if (!types?.length) return () => true;
  const matches = (pattern: string, type: string) =>
    pattern === "*" || pattern === type || (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1)));
  return (type) => isTerminalType(type) || types.some((pattern) => matches(pattern.trim(), type));
}
