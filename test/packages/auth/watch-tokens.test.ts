import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  AuthError,
  CallerAuth,
  STREAM_AUDIENCE,
  StreamTokens,
  WATCH_AUDIENCE,
  WatchTokens,
} from "../../../packages/auth/index.ts";

const SECRET = "watch-token-test-secret-with-32-bytes-at-least";
const RUN = "01JABCDEFGHJKMNPQRSTVWXYZ0";
const OTHER_RUN = "01JABCDEFGHJKMNPQRSTVWXYZ1";
const HOUR = 3600;
/** 10:00:00 UTC on some day: the start of a one-hour window. */
const WINDOW_START_S = Date.UTC(2026, 0, 15, 10) / 1000;

/** Watch tokens whose clock reads `seconds` (since epoch). */
const at = (seconds: number, window = HOUR) => new WatchTokens(SECRET, window, () => seconds * 1000);

/** The AuthError code `promise` rejects with. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  return (err as AuthError).code;
}

describe("WatchTokens.mint", () => {
  it("gives every caller in one window the same string", async () => {
    const first = await at(WINDOW_START_S + 5).mint(RUN);
    const second = await at(WINDOW_START_S + HOUR - 1).mint(RUN);
    expect(second).toEqual(first);
    // It expires at the end of its window plus one window, and carries no caller and no iat.
    expect(first.expiresAt).toBe(new Date((WINDOW_START_S + 2 * HOUR) * 1000).toISOString());
    expect(decodeJwt(first.token)).toEqual({ run: RUN, aud: WATCH_AUDIENCE, exp: WINDOW_START_S + 2 * HOUR });
    expect(decodeProtectedHeader(first.token)).toEqual({ alg: "HS256", typ: "JWT" });
  });

  it("rolls over to a new string when the window ends, and the old one stays valid one more window", async () => {
    const old = await at(WINDOW_START_S + HOUR - 1).mint(RUN);
    const next = await at(WINDOW_START_S + HOUR).mint(RUN);
    expect(next.token).not.toBe(old.token);
    expect(decodeJwt(next.token).exp).toBe(WINDOW_START_S + 3 * HOUR);
    // A watcher holding the old token keeps reading through the next window, not past it.
    expect(await at(WINDOW_START_S + 2 * HOUR - 1).verify(old.token, RUN)).toEqual({
      runId: RUN,
      exp: WINDOW_START_S + 2 * HOUR,
    });
    expect(await codeOf(at(WINDOW_START_S + 2 * HOUR + 1).verify(old.token, RUN))).toBe("token_expired");
  });

  it("differs per run and per key", async () => {
    const clock = at(WINDOW_START_S);
    expect((await clock.mint(RUN)).token).not.toBe((await clock.mint(OTHER_RUN)).token);
    const otherKey = new WatchTokens(`${SECRET}-other`, HOUR, () => WINDOW_START_S * 1000);
    expect((await otherKey.mint(RUN)).token).not.toBe((await clock.mint(RUN)).token);
  });

  it("refuses a short secret and a window outside 1 s..1 day", () => {
    expect(() => new WatchTokens("short", HOUR)).toThrow(RangeError);
    expect(() => new WatchTokens(SECRET, 0)).toThrow(RangeError);
    expect(() => new WatchTokens(SECRET, 86_401)).toThrow(RangeError);
    expect(new WatchTokens(SECRET, 86_400).windowSeconds).toBe(86_400);
  });
});

describe("WatchTokens.verify", () => {
  const now = WINDOW_START_S + 60;
  const tokens = at(now);
  const key = new TextEncoder().encode(SECRET);

  it("grants its run until exp", async () => {
    const { token } = await tokens.mint(RUN);
    expect(await tokens.verify(token, RUN)).toEqual({ runId: RUN, exp: WINDOW_START_S + 2 * HOUR });
  });

  it("refuses a missing token, another run's token and a tampered one", async () => {
    const { token } = await tokens.mint(RUN);
    expect(await codeOf(tokens.verify(undefined, RUN))).toBe("missing_token");
    expect(await codeOf(tokens.verify("", RUN))).toBe("missing_token");
    expect(await codeOf(tokens.verify(token, OTHER_RUN))).toBe("invalid_token");
    const [head, body, signature = ""] = token.split(".");
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    expect(await codeOf(tokens.verify(`${head}.${body}.${flipped}`, RUN))).toBe("invalid_token");
    expect(await codeOf(tokens.verify("not-a-jwt", RUN))).toBe("invalid_token");
  });

  it("refuses a stream token, a caller token, a token without exp and alg none", async () => {
    const stream = await new StreamTokens(SECRET, 900, () => now * 1000).mint(RUN, "alice");
    expect(await codeOf(tokens.verify(stream.token, RUN))).toBe("invalid_token");
    const caller = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice").sign(key);
    expect(await codeOf(tokens.verify(caller, RUN))).toBe("invalid_token");
    const forever = await new SignJWT({ run: RUN })
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(WATCH_AUDIENCE)
      .sign(key);
    expect(await codeOf(tokens.verify(forever, RUN))).toBe("invalid_token");
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const none = `${encode({ alg: "none" })}.${encode({ run: RUN, aud: WATCH_AUDIENCE, exp: now + 60 })}.`;
    expect(await codeOf(tokens.verify(none, RUN))).toBe("invalid_token");
  });

  it("is refused where a stream token or a caller token is expected", async () => {
    // On the real clock: CallerAuth has no clock of its own.
    const { token } = await new WatchTokens(SECRET, HOUR).mint(RUN);
    expect(await codeOf(new StreamTokens(SECRET, 900).verify(token, RUN))).toBe("invalid_token");
    expect(await codeOf(new CallerAuth({ secret: SECRET }).principal(`Bearer ${token}`))).toBe(
      "invalid_token",
    );
    expect(STREAM_AUDIENCE).not.toBe(WATCH_AUDIENCE);
  });
});
