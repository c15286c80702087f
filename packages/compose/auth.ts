import { hkdfSync, randomBytes } from "node:crypto";
import type { Context } from "hono";
import { SignJWT } from "jose";
import { CallerAuth, StreamTokens, WatchTokens } from "../auth/index.ts";
import { type Config, ConfigError } from "../config/index.ts";
import type { AuthSettings } from "../http/index.ts";

/**
 * The apps' auth settings from a configuration.
 * @param options.generatedSecret a secret the local stack generated (no AUTH_JWT_SECRET set).
 * @param options.upstream the principal an upstream authorizer verified (API Gateway on AWS).
 * @throws ConfigError when `jwt` has nothing to verify callers with, or no stream-token secret.
 */
export function authSettings(
  config: Config,
  options: { generatedSecret?: string; upstream?: (c: Context) => string | undefined } = {},
): AuthSettings {
  if (config.AUTH === "off") return { mode: "off" };
  // An identity provider's keys sign tokens for many services: without an audience, a token
  // issued for any of them would log in here.
  if (config.AUTH_JWKS_URL && !config.AUTH_AUDIENCE) {
    throw new ConfigError("AUTH_JWKS_URL needs AUTH_AUDIENCE");
  }
  const secret = config.AUTH_JWT_SECRET ?? options.generatedSecret;
  const callerOptions = {
    ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : secret ? { secret } : {}),
    ...(config.AUTH_ISSUER ? { issuer: config.AUTH_ISSUER } : {}),
    ...(config.AUTH_AUDIENCE ? { audience: config.AUTH_AUDIENCE } : {}),
  };
  const caller = config.AUTH_JWKS_URL || secret ? new CallerAuth(callerOptions) : undefined;
  if (!caller && !options.upstream) throw new ConfigError("AUTH=jwt needs AUTH_JWT_SECRET or AUTH_JWKS_URL");
  // Without its own secret, stream tokens get a key derived from the caller secret (HKDF), so a
  // stream token's signature can never pass as a caller token's.
  const streamSecret =
    config.STREAM_TOKEN_SECRET ?? (secret ? deriveKey(secret, "stagecast stream tokens") : undefined);
  if (!streamSecret) throw new ConfigError("stream tokens need STREAM_TOKEN_SECRET (or AUTH_JWT_SECRET)");
  // Watch tokens get a key derived from the stream-token secret (no setting of their own: both
  // apps already share that secret), so neither kind of token's signature passes as the other's.
  const watchSecret = deriveKey(streamSecret, "stagecast watch tokens");
  return {
    mode: "jwt",
    ...(caller ? { caller } : {}),
    ...(options.upstream ? { upstream: options.upstream } : {}),
    streamTokens: new StreamTokens(streamSecret, config.STREAM_TOKEN_TTL_SECONDS),
    watchTokens: new WatchTokens(watchSecret, config.WATCH_TOKEN_WINDOW_SECONDS),
  };
}

/** A 32-byte key derived from `secret` for one purpose (HKDF-SHA256), base64url. */
export function deriveKey(secret: string, purpose: string): string {
  return Buffer.from(hkdfSync("sha256", secret, "", purpose, 32)).toString("base64url");
}

/** A fresh random HS256 secret (32 bytes, base64url) for a local stack with none configured. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A development token: HS256 JWT for `sub`, valid `days` days, with AUTH_ISSUER/AUTH_AUDIENCE when set. */
export async function devToken(
  config: Config,
  secret: string,
  sub = "developer",
  days = 30,
): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(sub).setIssuedAt();
  if (config.AUTH_ISSUER) jwt.setIssuer(config.AUTH_ISSUER);
  if (config.AUTH_AUDIENCE) jwt.setAudience(config.AUTH_AUDIENCE);
  return jwt.setExpirationTime(`${days}d`).sign(new TextEncoder().encode(secret));
}

/** True for a loopback interface name or address (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
