import { StagecastApiError } from "./errors.ts";

/**
 * Retry rules shared by the client's two read modes (SSE in subscribe.ts, long-poll in
 * poll-subscription.ts), so both wait the same way after a failure and honour the same hints.
 */

/** Statuses a retry may fix: the server, or something in front of it, is busy or restarting. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Reconnect settings of a subscription (ms), from `createClient`'s `reconnect` option. */
export interface BackoffSettings {
  /** First delay after a failure (ms), doubled per consecutive failure up to `maxDelayMs`. */
  initialDelayMs: number;
  /** Longest delay (ms) before the jitter. */
  maxDelayMs: number;
  /** Consecutive failures allowed before the subscription gives up with StagecastConnectionError. */
  maxRetries: number;
}

/**
 * How long to wait (ms) before attempt number `failures + 1`: exponential backoff from
 * `initialDelayMs`, capped at `maxDelayMs`, with 50–100 % jitter (so watchers that failed
 * together do not come back together), and never less than the server's Retry-After when `err`
 * carried one (a 503 `store_unavailable` says `Retry-After: 2`).
 * @param failures consecutive failures so far (≥ 1).
 * @param random a number in [0, 1) (Math.random; a test passes a fixed one).
 */
export function retryDelayMs(
  failures: number,
  err: unknown,
  settings: BackoffSettings,
  random: number = Math.random(),
): number {
  const backoff = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.max(0, failures - 1));
  const hinted = err instanceof StagecastApiError ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(hinted, backoff * (0.5 + random / 2));
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects): a wait that an abort
 * cuts short, so a closed subscription stops at once and sends nothing more.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
