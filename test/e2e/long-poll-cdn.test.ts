import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getPoll } from "../support/long-poll.ts";
import { puppetStage } from "../support/puppet-stage.ts";
import { startTestStack } from "../support/stack.ts";
import { hs256CallerToken } from "../support/tokens.ts";
import { type CountingOrigin, startCountingOrigin, startVarnish, type Varnish } from "../support/varnish.ts";

/**
 * GET /runs/{runId}/poll behind a CDN: Varnish with the repository's VCL (local/cdn/stagecast.vcl,
 * the CloudFront policy) in front of the local stack with AUTH=jwt, and a counting proxy in
 * between, so every request the cache lets through is counted at the origin.
 *
 * The cache-key rule: a cached answer is only ever served for a URL whose watch token the origin
 * accepted, because the token is part of the cache key. The test of it is run twice: against the
 * real VCL (no request without X's valid token gets X's answer) and against a variant whose cache
 * key leaves the token out (then they all do), so the test demonstrably fails when the rule breaks.
 */

const SECRET = "long-poll-cdn-caller-secret-with-32-bytes";
const QUESTION = "Explain how a CDN collapses identical requests, briefly.";

/** The mutation: the cache key without the token (what a cache policy that drops the query string does). */
function dropTokenFromKey(vcl: string): string {
  const keyed = "hash_data(req.url);";
  if (!vcl.includes(keyed)) throw new Error("the VCL no longer hashes req.url: update the mutation");
  return vcl.replace(keyed, 'hash_data(regsuball(req.url, "[?&]token=[^&]*", ""));');
}

/** Resolve once `check` holds, polling every 25 ms; throw (naming `what`) after 10 s. */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let stack: Awaited<ReturnType<typeof startTestStack>>;
let origin: CountingOrigin;
let cdn: Varnish;
let broken: Varnish;
const puppet = puppetStage();

beforeAll(async () => {
  stack = await startTestStack(
    { AUTH: "jwt", AUTH_JWT_SECRET: SECRET, RUN_SWEEP_MS: "3600000" },
    { stages: { memory: puppet.stage } },
  );
  origin = await startCountingOrigin(stack.url);
  cdn = await startVarnish({ origin });
  broken = await startVarnish({ origin, transform: dropTokenFromKey });
}, 60_000);
afterAll(async () => {
  await broken?.stop();
  await cdn?.stop();
  await origin?.close();
  await stack?.stop();
});

const api = async (path: string, init: RequestInit = {}) =>
  fetch(`${stack.url}${path}`, {
    ...init,
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${await hs256CallerToken(SECRET, "alice")}`,
    },
  });

/** Start a run (held in its memory stage until released) and get its watch token. */
async function startWatched(): Promise<{ runId: string; token: string }> {
  const res = await api("/runs", { method: "POST", body: JSON.stringify({ question: QUESTION }) });
  const { runId } = (await res.json()) as { runId: string };
  const minted = (await (await api(`/runs/${runId}/watch-token`, { method: "POST" })).json()) as {
    watchToken: string;
  };
  return { runId, token: minted.watchToken };
}

/** Start a run, let it finish, and get its watch token. */
async function finishedRun(): Promise<{ runId: string; token: string }> {
  const run = await startWatched();
  await puppet.started(run.runId);
  puppet.release(run.runId);
  await stack.workflow.idle();
  return run;
}

/**
 * The cache-key scenario through `through`: watcher A, with run X's valid token, fills the cache
 * for X's first page; then requests for the same page of X with no token, a wrong one, a tampered
 * one, run Y's, or X's in Authorization only. Returns which of those got X's answer (a leak), and
 * which reached the origin.
 * @throws Error when A's answer was not cached at all (the scenario would prove nothing).
 */
async function leaksThrough(
  through: Varnish,
  x: { runId: string; token: string },
  y: { runId: string; token: string },
): Promise<{ leaks: string[]; reachedOrigin: string[] }> {
  const page = `/runs/${x.runId}/poll?after=0`;
  const filled = await getPoll(`${through.url}${page}&token=${x.token}`);
  expect(filled.status).toBe(200);
  expect(filled.headers.get("cache-control")).toMatch(/^public, max-age=\d+, immutable$/);
  const fetchesOfA = origin.count(`${page}&token=${x.token}`);
  const again = await getPoll(`${through.url}${page}&token=${x.token}`);
  if (again.text !== filled.text || origin.count(`${page}&token=${x.token}`) !== fetchesOfA) {
    throw new Error("the cache did not keep A's answer: the scenario would prove nothing");
  }
  const [head, body, signature = ""] = x.token.split(".");
  const tampered = `${head}.${body}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
  const attempts: Array<[string, string, RequestInit]> = [
    ["no token", page, {}],
    ["a wrong token", `${page}&token=garbage`, {}],
    ["a tampered token", `${page}&token=${tampered}`, {}],
    ["another run's token", `${page}&token=${y.token}`, {}],
    ["X's token in Authorization only", page, { headers: { authorization: `Bearer ${x.token}` } }],
  ];
  const leaks: string[] = [];
  const reachedOrigin: string[] = [];
  for (const [what, target, init] of attempts) {
    const before = origin.count(target);
    const answer = await getPoll(`${through.url}${target}`, init);
    if (answer.status === 200 || answer.text === filled.text) leaks.push(what);
    else {
      expect([what, answer.status, answer.headers.get("cache-control")]).toEqual([what, 401, "no-store"]);
    }
    if (origin.count(target) > before) reachedOrigin.push(what);
  }
  return { leaks, reachedOrigin };
}

describe("the cache-key rule: a cached answer is served only for a URL whose token the origin accepted", () => {
  it("through the project's VCL, no request without run X's valid token gets X's cached answer", async () => {
    const x = await finishedRun();
    const y = await finishedRun();
    const { leaks, reachedOrigin } = await leaksThrough(cdn, x, y);
    expect(leaks).toEqual([]);
    // Each was answered by the origin (401), not by the cache, and a refusal is never kept:
    // the same refused URL goes to the origin again.
    expect(reachedOrigin).toHaveLength(5);
    const bare = `/runs/${x.runId}/poll?after=0`;
    const before = origin.count(bare);
    expect((await getPoll(`${cdn.url}${bare}`)).status).toBe(401);
    expect(origin.count(bare)).toBe(before + 1);
  });

  it("the same test fails against a cache key without the token: every such request gets X's answer", async () => {
    const x = await finishedRun();
    const y = await finishedRun();
    const { leaks } = await leaksThrough(broken, x, y);
    expect(leaks).toEqual([
      "no token",
      "a wrong token",
      "a tampered token",
      "another run's token",
      "X's token in Authorization only",
    ]);
  });
});

describe("request collapsing at the live edge", () => {
  it("N identical polls waiting at the live edge make one origin request, and all get the event", async () => {
    const N = 8;
    const z = await startWatched();
    await puppet.started(z.runId);
    const edge = (await stack.store.events.last(z.runId))?.seq ?? 0;
    const target = `/runs/${z.runId}/poll?after=${edge}&token=${z.token}`;
    const sleptBefore = await cdn.stat("MAIN.busy_sleep");
    const answers = Promise.all(Array.from({ length: N }, () => getPoll(`${cdn.url}${target}`)));
    // One request is at the origin, long-polling; the other N-1 wait on Varnish's waiting list.
    await until(
      async () => origin.count(target) >= 1 && (await cdn.stat("MAIN.busy_sleep")) - sleptBefore >= N - 1,
      "one origin request and N-1 requests on the waiting list",
    );
    await puppet.say(z.runId, "one event for every watcher");
    const all = await answers;
    expect(origin.count(target)).toBe(1);
    for (const answer of all) {
      expect(answer.status).toBe(200);
      expect(answer.body?.events.map((e) => e.message)).toEqual(["one event for every watcher"]);
      expect(answer.headers.get("cache-control")).toBe("public, max-age=1");
    }
    expect(new Set(all.map((a) => a.text)).size).toBe(1);
    puppet.release(z.runId);
    await stack.workflow.idle();
  });
});
