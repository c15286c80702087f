import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack } from "../packages/local/stack.ts";
import { ConfigError, loadConfig } from "../packages/runtime/config.ts";
import { readSse } from "./support/sse.ts";
import { startTestStack } from "./support/stack.ts";

const SECRET = "auth-test-secret-with-at-least-32-bytes";
let stack: Awaited<ReturnType<typeof startTestStack>>;
const tokenFor = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  stack = await startTestStack({
    AUTH: "jwt",
    AUTH_JWT_SECRET: SECRET,
    OFFLINE_MODEL_TOKENS_PER_SECOND: "0",
  });
});
afterAll(async () => {
  await stack?.stop();
});

const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${stack.url}${path}`, {
    ...init,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...init.headers },
  });

describe("authentication and ownership (AUTH=jwt)", () => {
  it("lets the owner start, stream, list and re-token a run; others see nothing", async () => {
    const alice = await tokenFor("alice");
    const bob = await tokenFor("bob");
    const res = await api("/runs", alice, {
      method: "POST",
      body: JSON.stringify({ question: "Mine only" }),
    });
    expect(res.status).toBe(202);
    const started = await res.json();
    expect(started.links.stream).toContain(`?token=${started.streamToken}`);

    // The stream link works as it is (token in the query string), to the end.
    const { frames } = await readSse(started.links.stream);
    expect(frames.at(-1)?.event).toBe("run.completed");
    // Without its token the stream is a 401 with a JSON error, before any SSE byte.
    const bare = await fetch(`${stack.url}/runs/${started.runId}/stream`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get("content-type")).toMatch(/^application\/json/);

    // Listing shows the caller's runs only.
    const mine = await (await api("/runs", alice)).json();
    expect(mine.runs.map((r: { runId: string }) => r.runId)).toContain(started.runId);
    const theirs = await (await api("/runs", bob)).json();
    expect(theirs.runs).toEqual([]);

    // Someone else's run does not exist for them.
    for (const path of [`/runs/${started.runId}`, `/runs/${started.runId}/events`]) {
      expect((await api(path, bob)).status).toBe(404);
    }
    expect((await api(`/runs/${started.runId}/stream-token`, bob, { method: "POST" })).status).toBe(404);
    expect((await api(`/runs/${started.runId}/cancel`, bob, { method: "POST" })).status).toBe(404);

    // A fresh stream token, usable in Authorization too.
    const fresh = await (await api(`/runs/${started.runId}/stream-token`, alice, { method: "POST" })).json();
    const viaHeader = await readSse(`${stack.url}/runs/${started.runId}/stream`, {
      headers: { authorization: `Bearer ${fresh.streamToken}` },
    });
    expect(viaHeader.frames.at(-1)?.event).toBe("run.completed");
    // A stream token never logs a caller in (its key is derived apart from the caller secret).
    expect((await api("/runs", started.streamToken)).status).toBe(401);
    // A caller token is not a stream token (wrong audience).
    expect((await fetch(`${stack.url}/runs/${started.runId}/stream?token=${alice}`)).status).toBe(401);
  });

  it("answers 401 with a JSON error and a Bearer challenge without a valid caller token", async () => {
    const res = await fetch(`${stack.url}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"question":"no token"}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect((await res.json()).error.code).toBe("missing_token");
  });
});

describe("AUTH=off and the generated development secret", () => {
  it("refuses AUTH=off on an interface that is not loopback", async () => {
    await expect(
      startLocalStack(loadConfig({ AUTH: "off", HOST: "0.0.0.0", PORT: "0" }), { log: () => {} }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it("generates a secret and a working development token when none is configured", async () => {
    const dev = await startTestStack({ AUTH: "jwt", OFFLINE_MODEL_TOKENS_PER_SECOND: "0" });
    try {
      expect(dev.devToken).toBeTruthy();
      const res = await fetch(`${dev.url}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${dev.devToken}` },
        body: '{"question":"dev token"}',
      });
      expect(res.status).toBe(202);
      // The page offers it (prefilled), under a CSP with a nonce.
      const page = await fetch(`${dev.url}/`);
      expect(page.headers.get("content-security-policy")).toMatch(/script-src 'nonce-[^']+'/);
      expect(await page.text()).toContain(`value="${dev.devToken}"`);
    } finally {
      await dev.stop();
    }
  });
});

describe("callers verified with keys from AUTH_JWKS_URL", () => {
  it("accepts an RS256 token signed by a key in the JWKS, with issuer and audience checked", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    const jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    const secured = await startTestStack({
      AUTH: "jwt",
      AUTH_JWKS_URL: url,
      AUTH_ISSUER: "https://id.example.com/",
      AUTH_AUDIENCE: "stagecast-api",
      STREAM_TOKEN_SECRET: "a-separate-stream-token-secret-0123456789",
      OFFLINE_MODEL_TOKENS_PER_SECOND: "0",
    });
    const sign = (claims: { iss: string; aud: string }) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setSubject("carol")
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setExpirationTime("5m")
        .sign(privateKey);
    const list = (token: string) =>
      fetch(`${secured.url}/runs`, { headers: { authorization: `Bearer ${token}` } });
    try {
      expect((await list(await sign({ iss: "https://id.example.com/", aud: "stagecast-api" }))).status).toBe(
        200,
      );
      expect(
        (await list(await sign({ iss: "https://evil.example.com/", aud: "stagecast-api" }))).status,
      ).toBe(401);
      expect((await list(await sign({ iss: "https://id.example.com/", aud: "other-api" }))).status).toBe(401);
      // An HS256 token is refused when keys come from a JWKS (no algorithm confusion).
      const hs = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("carol")
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode("a-separate-stream-token-secret-0123456789"));
      expect((await list(hs)).status).toBe(401);
    } finally {
      await secured.stop();
      jwks.close();
    }
  });
});
