import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countStoreRequests, type StoreCounter } from "../../bench/instrument.ts";
import { WatchTokens } from "../../packages/auth/index.ts";
import { deriveKey } from "../../packages/compose/auth.ts";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import { getPoll, type PollAnswer, pollUrl, watchAll } from "../support/long-poll.ts";
import { type Puppet, puppetStage } from "../support/puppet-stage.ts";
import { startRun, startTestStack } from "../support/stack.ts";
import { hs256CallerToken } from "../support/tokens.ts";

/** GET /runs/{runId}/poll on the local stack: long-poll reads keyed by cursor (docs/api.md). */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** No sweep during a test: its reads would blur the store counts. */
const QUIET = { RUN_SWEEP_MS: "3600000" };
const QUESTION = "Explain how a long-poll cursor resumes, briefly.";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Dense seqs 1..n, exactly one terminal event, and it is the last. */
function expectWholeLog(events: RunEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  expect(isTerminalType(events.at(-1)?.type ?? "")).toBe(true);
}

/** An error answer as the route must give it: JSON with its code, never stored by a cache. */
function expectRefusal(answer: PollAnswer, status: number, code: string) {
  expect([answer.status, answer.code]).toEqual([status, code]);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(answer.headers.get("cache-control")).toBe("no-store");
}

/** The run's last seq, straight from the store. */
const lastSeq = async (stack: Stack, runId: string) => (await stack.store.events.last(runId))?.seq ?? 0;

describe("GET /runs/{runId}/poll (AUTH=off, shared polling)", () => {
  let stack: Stack;
  const puppet = puppetStage();
  beforeAll(async () => {
    stack = await startTestStack(
      { ...QUIET, CORS_ORIGINS: "https://app.example" },
      { stages: { memory: puppet.stage } },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const link = (runId: string) => `${stack.url}/runs/${runId}/poll`;

  it("a watcher following `next` until `ended` gets every event once, in order, with one terminal", async () => {
    const { runId } = await startRun(stack.url, { question: QUESTION });
    const watcher = watchAll(link(runId));
    await puppet.started(runId);
    // More than a page (100) of events, written while the watcher follows.
    for (let i = 0; i < 120; i++) await puppet.say(runId, `step ${i}`);
    puppet.release(runId);
    const { events, answers } = await watcher;

    expectWholeLog(events);
    const { events: log } = await stack.store.events.read(runId, 0, 1000);
    expect(events).toEqual(log);
    for (const answer of answers) {
      const body = answer.body;
      expect(body?.events.length).toBeLessThanOrEqual(100);
      const final = body?.ended || body?.events.length === 100;
      expect(answer.headers.get("cache-control")).toBe(
        final ? "public, max-age=31536000, immutable" : "public, max-age=1",
      );
      expect(answer.headers.get("etag")).toMatch(/^"[^"]+"$/);
      expect(answer.headers.get("vary")).toBeNull();
    }
  });

  it("answers an ended run from any cursor: full pages and the end immutable, a cursor past the end `ended`", async () => {
    const { runId } = await startRun(stack.url, { question: QUESTION });
    await puppet.started(runId);
    for (let i = 0; i < 110; i++) await puppet.say(runId, `step ${i}`);
    puppet.release(runId);
    await stack.workflow.idle();
    const { events: log } = await stack.store.events.read(runId, 0, 1000);
    const end = log.length;

    const first = await getPoll(pollUrl(link(runId), 0));
    expect(first.body).toEqual({ runId, events: log.slice(0, 100), next: 100, ended: false });
    expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const rest = await getPoll(pollUrl(link(runId), 100));
    expect(rest.body).toEqual({ runId, events: log.slice(100), next: end, ended: true });
    for (const after of [end, end + 5, 9_999_999_999]) {
      const past = await getPoll(pollUrl(link(runId), after));
      expect(past.body).toEqual({ runId, events: [], next: after, ended: true });
      expect(past.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    }
    // `after` missing is 0.
    expect((await getPoll(link(runId))).body).toEqual(first.body);
  });

  it("waits at the live edge and answers as soon as an event is appended", async () => {
    const { runId } = await startRun(stack.url, { question: QUESTION });
    await puppet.started(runId);
    const edge = await lastSeq(stack, runId);
    let settled = false;
    const waiting = getPoll(pollUrl(link(runId), edge)).finally(() => {
      settled = true;
    });
    await sleep(300);
    // Still waiting (LONG_POLL_WAIT_MS is 20 s): nothing after the cursor yet.
    expect(settled).toBe(false);
    await puppet.say(runId, "appended while a poll waits");
    const answer = await waiting;
    expect(answer.body?.events.map((e) => e.message)).toEqual(["appended while a poll waits"]);
    expect(answer.body).toMatchObject({ runId, next: edge + 1, ended: false });
    expect(answer.headers.get("cache-control")).toBe("public, max-age=1");
    puppet.release(runId);
    await stack.workflow.idle();
  });

  it("refuses bad input with a clear error that no cache keeps", async () => {
    const { runId } = await startRun(stack.url, { question: QUESTION });
    puppet.release(runId);
    await stack.workflow.idle();
    expectRefusal(await getPoll(`${link(runId)}?after=1&live=long-poll`), 400, "invalid_query");
    expectRefusal(await getPoll(`${link(runId)}?after=1&after=2`), 400, "invalid_query");
    expectRefusal(await getPoll(`${link(runId)}?after=abc`), 400, "invalid_cursor");
    expectRefusal(await getPoll(`${link(runId)}?after=007`), 400, "invalid_cursor");
    expectRefusal(await getPoll(`${link(runId)}?after=%31`), 400, "invalid_cursor");
    expectRefusal(await getPoll(`${link(runId)}?%61fter=1`), 400, "invalid_query");
    expectRefusal(await getPoll(`${link(runId)}?after=-1`), 400, "invalid_cursor");
    expectRefusal(await getPoll(`${stack.url}/runs/not-a-run/poll`), 400, "invalid_run_id");
    expectRefusal(await getPoll(`${link(ulid())}?after=0`), 404, "run_not_found");
  });

  it("answers CORS the same for every Origin (`*`, no Vary), while the other routes keep their allowlist", async () => {
    const { runId } = await startRun(stack.url, { question: QUESTION });
    puppet.release(runId);
    await stack.workflow.idle();
    for (const origin of ["https://app.example", "https://elsewhere.example"]) {
      const answer = await getPoll(pollUrl(link(runId), 0), { headers: { origin } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin")).toBe("*");
      expect(answer.headers.get("vary")).toBeNull();
    }
    const view = await fetch(`${stack.url}/runs/${runId}`, { headers: { origin: "https://app.example" } });
    expect(view.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(view.headers.get("vary")).toContain("Origin");
  });
});

describe("STREAM_SHARE_POLLING", () => {
  const POLLERS = 6;
  /** Short waits, a 20-ms floor doubling to 100 ms: a poller reads about a dozen times per wait. */
  const env = {
    ...QUIET,
    LONG_POLL_WAIT_MS: "1000",
    STREAM_POLL_MIN_MS: "20",
    STREAM_POLL_MAX_MS: "100",
    STREAM_POLL_HOLD_MS: "0",
  };
  const setups: Array<{ stack: Stack; counter: () => StoreCounter; puppet: Puppet }> = [];
  beforeAll(async () => {
    for (const share of ["true", "false"]) {
      const puppet = puppetStage();
      let counter: StoreCounter | undefined;
      const stack = await startTestStack(
        { ...env, STREAM_SHARE_POLLING: share },
        {
          stages: { memory: puppet.stage },
          instrumentDynamo: (client) => {
            counter = countStoreRequests(client);
          },
        },
      );
      setups.push({ stack, puppet, counter: () => counter as StoreCounter });
    }
  });
  afterAll(async () => {
    for (const { stack } of setups) await stack.stop();
  });

  /** Store tail reads while `pollers` polls wait together at the live edge of a held run until they time out. */
  async function liveEdgeReads(setup: (typeof setups)[number], pollers: number): Promise<number> {
    const { stack, puppet } = setup;
    const { runId } = await startRun(stack.url, { question: QUESTION });
    await puppet.started(runId);
    const edge = await lastSeq(stack, runId);
    const url = pollUrl(`${stack.url}/runs/${runId}/poll`, edge);
    setup.counter().reset();
    const answers = await Promise.all(Array.from({ length: pollers }, () => getPoll(url)));
    const reads = setup.counter().counts.tailReads;
    for (const answer of answers)
      expect(answer.body).toEqual({ runId, events: [], next: edge, ended: false });
    puppet.release(runId);
    await stack.workflow.idle();
    return reads;
  }

  it("off: N pollers cost the store about N times what one does; on: they share one poller", async () => {
    const [shared, own] = setups as [(typeof setups)[number], (typeof setups)[number]];
    const sharedOne = await liveEdgeReads(shared, 1);
    const sharedMany = await liveEdgeReads(shared, POLLERS);
    const ownOne = await liveEdgeReads(own, 1);
    const ownMany = await liveEdgeReads(own, POLLERS);
    const counts = { sharedOne, sharedMany, ownOne, ownMany };
    // Each request's own first read, plus one poller per request (off) or one for all (on).
    expect(ownOne, JSON.stringify(counts)).toBeGreaterThan(3);
    expect(ownMany, JSON.stringify(counts)).toBeGreaterThanOrEqual(0.6 * POLLERS * ownOne);
    expect(sharedMany, JSON.stringify(counts)).toBeLessThanOrEqual(1.5 * sharedOne + POLLERS);
    expect(ownMany, JSON.stringify(counts)).toBeGreaterThan(2.5 * sharedMany);
  });
});

describe("the watch token (AUTH=jwt)", () => {
  const SECRET = "long-poll-test-caller-secret-with-32-bytes";
  const STREAM_SECRET = "long-poll-test-stream-secret-with-32-bytes";
  let stack: Stack;
  const partitions: string[] = [];
  beforeAll(async () => {
    stack = await startTestStack(
      { ...QUIET, AUTH: "jwt", AUTH_JWT_SECRET: SECRET, STREAM_TOKEN_SECRET: STREAM_SECRET },
      { instrumentDynamo: (client) => recordPartitions(client, partitions) },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const call = async (path: string, sub: string, init: RequestInit = {}) =>
    fetch(`${stack.url}${path}`, {
      ...init,
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${await hs256CallerToken(SECRET, sub)}`,
      },
    });
  const start = async (sub: string) => {
    const res = await call("/runs", sub, { method: "POST", body: JSON.stringify({ question: QUESTION }) });
    expect(res.status).toBe(202);
    return (await res.json()) as { runId: string; streamToken: string };
  };
  const watchToken = async (runId: string, sub = "alice") =>
    (await (await call(`/runs/${runId}/watch-token`, sub, { method: "POST" })).json()) as {
      runId: string;
      watchToken: string;
      watchTokenExpiresAt: string;
      links: { poll: string };
    };

  it("gives the owner one token per window for every call, with a poll link that works as it is", async () => {
    const { runId } = await start("alice");
    const first = await watchToken(runId);
    const again = await watchToken(runId);
    expect(again).toEqual(first);
    expect(first.links).toEqual({ poll: `${stack.url}/runs/${runId}/poll?token=${first.watchToken}` });
    expect(Date.parse(first.watchTokenExpiresAt)).toBeGreaterThan(Date.now() + 3600_000 - 1000);
    // Someone else's run is as unknown as a missing one; no caller token is a 401.
    expect((await call(`/runs/${runId}/watch-token`, "bob", { method: "POST" })).status).toBe(404);
    expect((await fetch(`${stack.url}/runs/${runId}/watch-token`, { method: "POST" })).status).toBe(401);

    const began = Date.now();
    const { events, answers } = await watchAll(first.links.poll);
    expectWholeLog(events);
    expect(events).toEqual((await stack.store.events.read(runId, 0, 1000)).events);
    // No CORS_ORIGINS here: no CORS header at all, and nothing to Vary on.
    expect(answers.map((a) => [a.headers.get("access-control-allow-origin"), a.headers.get("vary")])).toEqual(
      answers.map(() => [null, null]),
    );
    // The final answer may be cached, but never past the token's expiry.
    const maxAge = Number(/max-age=(\d+)/.exec(answers.at(-1)?.headers.get("cache-control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThan(31_536_000);
    expect(began + maxAge * 1000).toBeLessThanOrEqual(Date.parse(first.watchTokenExpiresAt));
  });

  it("refuses a missing, wrong, expired or another run's token with 401 and no-store, before any store read", async () => {
    const x = await start("alice");
    const y = await start("alice");
    const tx = (await watchToken(x.runId)).watchToken;
    const ty = (await watchToken(y.runId)).watchToken;
    await stack.workflow.idle();
    const watchKey = deriveKey(STREAM_SECRET, "stagecast watch tokens");
    const expired = (await new WatchTokens(watchKey, 60, () => Date.now() - 3 * 3600_000).mint(x.runId))
      .token;
    const [head, body, signature = ""] = tx.split(".");
    const tampered = `${head}.${body}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    const caller = await hs256CallerToken(SECRET, "alice");
    const poll = `${stack.url}/runs/${x.runId}/poll`;
    const cases: Array<[string, string, RequestInit, string]> = [
      ["no token", `${poll}?after=0`, {}, "missing_token"],
      ["an empty token", `${poll}?after=0&token=`, {}, "missing_token"],
      [
        "the token in Authorization only",
        `${poll}?after=0`,
        { headers: { authorization: `Bearer ${tx}` } },
        "missing_token",
      ],
      ["garbage", `${poll}?after=0&token=garbage`, {}, "invalid_token"],
      ["a tampered token", `${poll}?after=0&token=${tampered}`, {}, "invalid_token"],
      ["another run's token", `${poll}?after=0&token=${ty}`, {}, "invalid_token"],
      ["the run's stream token", `${poll}?after=0&token=${x.streamToken}`, {}, "invalid_token"],
      ["a caller token", `${poll}?after=0&token=${caller}`, {}, "invalid_token"],
      ["an expired token", `${poll}?after=0&token=${expired}`, {}, "token_expired"],
    ];
    partitions.length = 0;
    for (const [what, url, init, code] of cases) {
      const answer = await getPoll(url, init);
      expect([what, answer.status, answer.code]).toEqual([what, 401, code]);
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("www-authenticate")).toBe(`Bearer error="${code}"`);
    }
    const touched = (runId: string) => partitions.filter((pk) => pk === `RUN#${runId}`).length;
    expect([touched(x.runId), touched(y.runId)]).toEqual([0, 0]);
    // The control: an accepted token reads the run's partition (the recorder does see reads).
    expect((await getPoll(`${poll}?after=0&token=${tx}`)).status).toBe(200);
    expect(touched(x.runId)).toBeGreaterThan(0);
    // A valid token for a run that does not exist: 404, after the token check.
    const ghost = ulid();
    const ghostToken = (await new WatchTokens(watchKey, 3600).mint(ghost)).token;
    expectRefusal(await getPoll(`${stack.url}/runs/${ghost}/poll?token=${ghostToken}`), 404, "run_not_found");
  });
});

/** Record the partition key of every store request (`""` for one without: a Scan). */
function recordPartitions(client: DynamoDBClient, into: string[]): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as {
        Key?: { pk?: { S?: string } };
        ExpressionAttributeValues?: Record<string, { S?: string }>;
      };
      into.push(input.Key?.pk?.S ?? input.ExpressionAttributeValues?.[":pk"]?.S ?? "");
      return next(args);
    },
    { step: "initialize", name: "longPollPartitions" },
  );
}
