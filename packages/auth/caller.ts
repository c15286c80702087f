import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { AuthError } from "./errors.ts";

/** How callers are verified where no API Gateway authorizer ran. */
export interface CallerAuthOptions {
  /** HS256 secret (AUTH_JWT_SECRET), at least 32 bytes. */
  secret?: string;
  /** JWKS URL (AUTH_JWKS_URL) for asymmetric keys (RS256, ES256, …). */
  jwksUrl?: string;
  /** Required `iss` (AUTH_ISSUER), when set. */
  issuer?: string;
  /** Required `aud` (AUTH_AUDIENCE), when set. */
  audience?: string;
}

/** Algorithms accepted for caller tokens: never `none`. */
const HMAC = ["HS256"];
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"];

/**
 * Verifies a caller's bearer JWT with jose and returns its `sub` (the principal).
 * @throws Error at construction when neither a secret nor a JWKS URL is given.
 */
export class CallerAuth {
  readonly #key: Uint8Array | JWTVerifyGetKey;
  readonly #algorithms: string[];
  readonly #options: CallerAuthOptions;

  constructor(options: CallerAuthOptions) {
    this.#options = options;
    if (options.jwksUrl) {
      this.#key = createRemoteJWKSet(new URL(options.jwksUrl));
      this.#algorithms = ASYMMETRIC;
    } else if (options.secret) {
      this.#key = new TextEncoder().encode(options.secret);
      this.#algorithms = HMAC;
    } else {
      throw new Error("CallerAuth needs AUTH_JWT_SECRET or AUTH_JWKS_URL");
    }
  }

  /**
   * The principal of an `Authorization: Bearer <jwt>` header value.
   * @throws AuthError `missing_token`, `invalid_token` or `token_expired`.
   */
  async principal(authorization: string | undefined): Promise<string> {
    if (!authorization) throw new AuthError("missing_token", "Send Authorization: Bearer <token>.");
    const token = bearer(authorization);
    if (!token) throw new AuthError("invalid_token", "The Authorization header is not a Bearer token.");
    const payload = await verify(token, this.#key, {
      algorithms: this.#algorithms,
      ...(this.#options.issuer ? { issuer: this.#options.issuer } : {}),
      ...(this.#options.audience ? { audience: this.#options.audience } : {}),
    });
    // A stream token (it travels in URLs, so it leaks into logs and history) never logs a
    // caller in, even when no audience is configured for caller tokens.
    const aud = payload.aud;
    if (
      "run" in payload ||
      aud === "stagecast:stream" ||
      (Array.isArray(aud) && aud.includes("stagecast:stream"))
    ) {
      throw new AuthError("invalid_token", "A stream token cannot be used as a caller token.");
    }
    return subject(payload);
  }
}

/** The token of a `Bearer` Authorization header value, or undefined. */
export function bearer(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * jose's jwtVerify with its errors translated: expiry → `token_expired`, anything else
 * (signature, algorithm, claims, malformed input) → `invalid_token`. jose never accepts
 * `alg: none` when algorithms are listed.
 */
export async function verify(
  token: string,
  key: Uint8Array | JWTVerifyGetKey,
  options: { algorithms: string[]; issuer?: string; audience?: string; currentDate?: Date },
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key as never, options);
    return payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new AuthError("token_expired", "The token has expired.");
    throw new AuthError("invalid_token", "The token is not valid.");
  }
}

/** The `sub` claim, which must be a non-empty string of at most 256 characters. */
export function subject(payload: JWTPayload): string {
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 256) {
    throw new AuthError("invalid_token", "The token has no valid subject.");
  }
  return sub;
}
