import { SignJWT } from "jose";
import { verify } from "./caller.ts";
import { AuthError } from "./errors.ts";

/** The audience of watch tokens: they read one run's poll route and nothing else. */
export const WATCH_AUDIENCE = "stagecast:watch";

/** Longest window (s): one day, so a leaked token reads the run for at most two days. */
export const MAX_WATCH_WINDOW_SECONDS = 86_400;

/** A minted watch token and when it expires (ISO-8601). */
export interface WatchToken {
  token: string;
  expiresAt: string;
}

/** What a valid watch token grants: reading run `runId` until `exp` (s since epoch). */
export interface WatchGrant {
  runId: string;
  /** The token's `exp` (s since epoch): a cached answer must not outlive it. */
  exp: number;
}

/**
 * Run-scoped read credentials shared by everyone allowed to watch a run: HS256 JWTs (jose) with
 * `aud` = {@link WATCH_AUDIENCE}, `run` = the run id and `exp`, and no `sub` and no `iat`, so
 * every watcher of a run gets the same string within a window. That string travels in the
 * poll URL and is part of a CDN's cache key: a cached answer is then only ever served for a URL
 * whose credential the origin accepted, and all watchers of a run share one cache entry per
 * cursor (a per-caller token would split the cache per caller).
 *
 * Windows are aligned to the epoch: a token minted at `t` expires at the end of `t`'s window
 * plus one window (`exp` = (floor(t / W) + 2) · W), so it lives between W and 2W seconds and a
 * client that fetches a new one once per window never holds an expired one. HS256 signatures
 * are deterministic, so equal claims give byte-equal tokens.
 *
 * A watch token is not a caller token (no `sub`, and CallerAuth refuses any token with a
 * `run` claim) and not a stream token (another audience); the composition root also gives it
 * a key of its own (derived from the stream-token secret).
 */
export class WatchTokens {
  readonly #key: Uint8Array;
  /** Window length W (s). */
  readonly windowSeconds: number;
  readonly #now: () => number;

  /**
   * @param secret HS256 key, at least 32 bytes.
   * @param windowSeconds W (WATCH_TOKEN_WINDOW_SECONDS, default 3600 s), 1..{@link MAX_WATCH_WINDOW_SECONDS}.
   * @param now the clock (ms since epoch); tests pass their own.
   * @throws RangeError when the secret is shorter than 32 bytes or the window is out of range.
   */
  constructor(secret: string, windowSeconds: number, now: () => number = Date.now) {
    if (Buffer.byteLength(secret) < 32)
      throw new RangeError("the watch token secret must be at least 32 bytes");
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > MAX_WATCH_WINDOW_SECONDS) {
      throw new RangeError(`the watch token window must be 1..${MAX_WATCH_WINDOW_SECONDS} s`);
    }
    this.#key = new TextEncoder().encode(secret);
    this.windowSeconds = windowSeconds;
    this.#now = now;
  }

  /** The token of run `runId` for the current window: the same string for every caller in it. */
  async mint(runId: string): Promise<WatchToken> {
    const window = this.windowSeconds;
    const exp = (Math.floor(this.#now() / 1000 / window) + 2) * window;
    const token = await new SignJWT({ run: runId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setAudience(WATCH_AUDIENCE)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * Check a watch token for run `runId`.
   * @returns the grant, with the token's `exp` (s since epoch).
   * @throws AuthError `missing_token`, `token_expired`, or `invalid_token` (tampered, wrong
   *   algorithm including `none`, wrong audience such as a stream or caller token, no `exp`,
   *   another run).
   */
  async verify(token: string | undefined, runId: string): Promise<WatchGrant> {
    if (!token) throw new AuthError("missing_token", "This poll needs the run's watch token (?token=).");
    const payload = await verify(token, this.#key, {
      algorithms: ["HS256"],
      audience: WATCH_AUDIENCE,
      currentDate: new Date(this.#now()),
    });
    if (payload.run !== runId) throw new AuthError("invalid_token", "The token is for another run.");
    // jose checks `exp` only when present: a token without one would never expire.
    if (typeof payload.exp !== "number") throw new AuthError("invalid_token", "The token has no expiry.");
    return { runId, exp: payload.exp };
  }
}
