import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalStack } from "../../../local/stack/stack.ts";
import { authSettings } from "../../../packages/compose/index.ts";
import { ConfigError, loadConfig } from "../../../packages/config/config.ts";
import { readSse } from "../../support/sse.ts";
import { startTestStack } from "../../support/stack.ts";
import { hs256CallerToken } from "../../support/tokens.ts";

const SECRET = "auth-test-secret-with-at-least-32-bytes";
let stack: Awaited<ReturnType<typeof startTestStack>>;
const tokenFor = (sub: string) => hs256CallerToken(SECRET, sub);

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

describe("isolation between principals and the hardening around it", () => {
  it("keeps projects and conversations per owner: the same ids from another principal see nothing", async () => {
    const alice = await tokenFor("alice-iso");
    const mallory = await tokenFor("mallory-iso");
    const body = JSON.stringify({
      question: "My secret plan is PINEAPPLE-42",
      projectId: "p1",
      conversationId: "c1",
    });
    const first = await (await api("/runs", alice, { method: "POST", body })).json();
    await readSse(first.links.stream);
    const probe = await (
      await api("/runs", mallory, {
        method: "POST",
        body: JSON.stringify({
          question: "what did we discuss last time?",
          projectId: "p1",
          conversationId: "c1",
        }),
      })
    ).json();
    const { frames } = await readSse(probe.links.stream);
    const text = frames.map((f) => f.data).join("\n");
    expect(text).not.toContain("PINEAPPLE");
    const loaded = frames
      .map((f) => JSON.parse(f.data))
      .find((e) => e.type === "stage.progress" && e.stage === "context");
    expect(loaded?.message).toBe("Loaded 0 memories, 0 earlier turns.");
    // Alice's own next run does find her memory and turn.
    const again = await (
      await api("/runs", alice, {
        method: "POST",
        body: JSON.stringify({ question: "and now?", projectId: "p1", conversationId: "c1" }),
      })
    ).json();
    const mine = await readSse(again.links.stream);
    const ctx = mine.frames
      .map((f) => JSON.parse(f.data))
      .find((e) => e.type === "stage.progress" && e.stage === "context");
    expect(ctx?.message).toBe("Loaded 1 memory, 1 earlier turn.");
  });

  it("enforces the active-run limit atomically: parallel requests cannot overshoot it", async () => {
    const limited = await startTestStack({
      AUTH: "jwt",
      AUTH_JWT_SECRET: SECRET,
      MAX_ACTIVE_RUNS: "1",
      OFFLINE_MODEL_TOKENS_PER_SECOND: "5",
    });
    try {
      const token = await tokenFor("racer");
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          fetch(`${limited.url}/runs`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: '{"question":"me first"}',
          }),
        ),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 202)).toHaveLength(1);
      expect(statuses.filter((s) => s === 429)).toHaveLength(7);
      // Ending the run frees its slot.
      const winner = await answers.find((a) => a.status === 202)?.json();
      const cancel = await fetch(`${limited.url}/runs/${winner.runId}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(cancel.status).toBe(202);
      const next = await fetch(`${limited.url}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: '{"question":"my turn"}',
      });
      expect(next.status).toBe(202);
      const nextRun = await next.json();
      await fetch(`${limited.url}/runs/${nextRun.runId}/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
    } finally {
      await limited.stop();
    }
  });

  it("offers no development token off loopback, and refuses requests for other host names on loopback", async () => {
    const open = await startLocalStack(loadConfig({ AUTH: "jwt", HOST: "0.0.0.0", PORT: "0" }), {
      log: () => {},
    });
    try {
      expect(open.devToken).toBeUndefined();
      const port = new URL(open.url).port;
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      expect(page).toContain('value=""');
    } finally {
      await open.stop();
    }
    const status = await new Promise<number>((resolve, reject) => {
      const port = Number(new URL(stack.url).port);
      request(
        { host: "127.0.0.1", port, path: "/", headers: { host: "rebound.attacker.example" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on("error", reject)
        .end();
    });
    expect(status).toBe(421);
  });

  it("refuses a JWKS without an audience to check", () => {
    expect(() =>
      authSettings(loadConfig({ AUTH: "jwt", AUTH_JWKS_URL: "https://id.example.com/jwks.json" })),
    ).toThrow(ConfigError);
  });
});
