import { SignJWT } from "jose";
import { subject, verify } from "./caller.ts";
import { AuthError } from "./errors.ts";

/** The audience of stream tokens: they open a stream and nothing else. */
export const STREAM_AUDIENCE = "stagecast:stream";

/** A minted stream token and when it expires (ISO-8601). */
export interface StreamToken {
  token: string;
  expiresAt: string;
}

/**
 * Short-lived, run-scoped tokens for reading one run's stream: HS256 JWTs (jose) with
 * `aud` = {@link STREAM_AUDIENCE}, `sub` = the owner, `run` = the run id, `exp`. Browsers'
 * EventSource cannot send headers, so the token travels in the stream URL's query string.
 */
export class StreamTokens {
  readonly #key: Uint8Array;
  readonly ttlSeconds: number;
  readonly #now: () => number;

  /**
   * @param secret HS256 key (STREAM_TOKEN_SECRET), at least 32 bytes.
   * @param ttlSeconds lifetime of a token (STREAM_TOKEN_TTL_SECONDS, default 900 = 15 min).
   * @throws Error when the secret is shorter than 32 bytes (HS256 needs a 256-bit key).
   */
  constructor(secret: string, ttlSeconds: number, now: () => number = Date.now) {
    if (Buffer.byteLength(secret) < 32) throw new Error("the stream token secret must be at least 32 bytes");
    this.#key = new TextEncoder().encode(secret);
    this.ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  /** A token for `sub` to read run `runId`'s stream. */
  async mint(runId: string, sub: string): Promise<StreamToken> {
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + this.ttlSeconds;
    const token = await new SignJWT({ run: runId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(sub)
      .setAudience(STREAM_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * Check a token for run `runId` and return its subject.
   * @throws AuthError `missing_token`, `token_expired`, or `invalid_token` (tampered, wrong
   *   algorithm including `none`, wrong audience, another run).
   */
  async verify(token: string | undefined, runId: string): Promise<string> {
    if (!token)
      throw new AuthError("missing_token", "This stream needs its token (?token= or Authorization).");
    const payload = await verify(token, this.#key, {
      algorithms: ["HS256"],
      audience: STREAM_AUDIENCE,
      currentDate: new Date(this.#now()),
    });
    if (payload.run !== runId) throw new AuthError("invalid_token", "The token is for another run.");
    return subject(payload);
  }
}
