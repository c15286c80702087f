import { describe, expect, it } from "vitest";
import { StreamTokens, WatchTokens } from "../../../packages/auth/index.ts";
import { streamSettings } from "../../../packages/compose/index.ts";
import { loadConfig } from "../../../packages/config/config.ts";
import type { RunEvent } from "../../../packages/events/index.ts";
import { type Store, StoreUnavailableError } from "../../../packages/store/index.ts";
import {
  IMMUTABLE_MAX_AGE_SECONDS,
  NO_STORE,
  POLL_PAGE_SIZE,
  pollCacheControl,
  pollEtag,
} from "../../../packages/stream/poll-cache.ts";
import { createStreamApp } from "../../../packages/stream/stream-app.ts";

const NOW_MS = 1_800_000_000_000;
const NOW_S = NOW_MS / 1000;
/** A token expiring `s` seconds from now. */
const expIn = (s: number) => NOW_S + s;
/** The max-age of a Cache-Control value, or undefined when it has none. */
const maxAge = (value: string) => {
  const m = /max-age=(\d+)/.exec(value);
  return m ? Number(m[1]) : undefined;
};

describe("pollCacheControl", () => {
  it("marks a final range immutable: the terminal event is in it or behind the cursor, or the page is full", () => {
    const day = expIn(86_400);
    expect(pollCacheControl({ events: 3, ended: true }, day, NOW_MS)).toBe(
      "public, max-age=86400, immutable",
    );
    expect(pollCacheControl({ events: 0, ended: true }, day, NOW_MS)).toBe(
      "public, max-age=86400, immutable",
    );
    expect(pollCacheControl({ events: POLL_PAGE_SIZE, ended: false }, day, NOW_MS)).toBe(
      "public, max-age=86400, immutable",
    );
  });

  it("gives the live edge (empty or short page of a running run) one second", () => {
    expect(pollCacheControl({ events: 0, ended: false }, expIn(3600), NOW_MS)).toBe("public, max-age=1");
    expect(pollCacheControl({ events: POLL_PAGE_SIZE - 1, ended: false }, expIn(3600), NOW_MS)).toBe(
      "public, max-age=1",
    );
  });

  it("never lets a cached body outlive the token in its URL", () => {
    for (const left of [1, 2, 59, 3600, 7199, 172_800]) {
      for (const answer of [
        { events: 0, ended: true },
        { events: POLL_PAGE_SIZE, ended: false },
        { events: 0, ended: false },
      ]) {
        const value = pollCacheControl(answer, expIn(left), NOW_MS);
        expect(maxAge(value)).toBeLessThanOrEqual(left);
      }
    }
    // Fractions of a second round down: 90.9 s left is max-age 90.
    expect(pollCacheControl({ events: 0, ended: true }, NOW_S + 90, NOW_MS + 100)).toBe(
      "public, max-age=89, immutable",
    );
    // Under a second left (or past exp while the poll waited): nothing may be stored.
    expect(pollCacheControl({ events: 0, ended: true }, NOW_S, NOW_MS + 1)).toBe(NO_STORE);
    expect(pollCacheControl({ events: 0, ended: false }, NOW_S, NOW_MS)).toBe(NO_STORE);
    expect(pollCacheControl({ events: 5, ended: true }, NOW_S - 10, NOW_MS)).toBe(NO_STORE);
  });

  it("caps immutable at one year, which is also the age with auth off (no token)", () => {
    expect(pollCacheControl({ events: 1, ended: true }, undefined, NOW_MS)).toBe(
      `public, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`,
    );
    expect(pollCacheControl({ events: 1, ended: true }, expIn(10 * IMMUTABLE_MAX_AGE_SECONDS), NOW_MS)).toBe(
      `public, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`,
    );
    expect(pollCacheControl({ events: 0, ended: false }, undefined, NOW_MS)).toBe("public, max-age=1");
  });
});

describe("the rule as GET /runs/{runId}/poll applies it", () => {
  const SECRET = "poll-cache-test-secret-with-32-bytes-at-least";
  const OK = "01JABCDEFGHJKMNPQRSTVWXYZ0";
  const MISSING = "01JABCDEFGHJKMNPQRSTVWXYZ1";
  const DOWN = "01JABCDEFGHJKMNPQRSTVWXYZ2";
  const BUG = "01JABCDEFGHJKMNPQRSTVWXYZ3";
  const event = (runId: string, seq: number, type = "stage.progress") =>
    ({ runId, seq, ts: new Date(NOW_MS).toISOString(), progress: 0, type }) as unknown as RunEvent;
  const reads: string[] = [];
  /** A store that knows run OK (3 events, the last terminal) and fails for DOWN (outage) and BUG (a bug). */
  const store = {
    events: {
      read: async (runId: string, after: number) => {
        reads.push(runId);
        if (runId === DOWN) throw new StoreUnavailableError("Query(events): throttled");
        if (runId === BUG) throw new Error("a bug");
        const log = runId === OK ? [event(OK, 1), event(OK, 2), event(OK, 3, "run.completed")] : [];
        return { events: log.filter((e) => e.seq > after), hasMore: false };
      },
    },
    runs: { view: async () => undefined },
  } as unknown as Store;
  const watchTokens = new WatchTokens(SECRET, 3600);
  const app = createStreamApp({
    store,
    settings: streamSettings(loadConfig({ LONG_POLL_WAIT_MS: "0" })),
    auth: { mode: "jwt", streamTokens: new StreamTokens(SECRET, 900), watchTokens },
  });
  const poll = async (runId: string, query: string) => {
    const token = (await watchTokens.mint(runId)).token;
    return app.request(`/runs/${runId}/poll?${query.replace("$TOKEN", token)}`);
  };

  it("answers a final range immutably, bounded by the token, with an ETag and no Vary", async () => {
    const res = await poll(OK, "token=$TOKEN&after=1");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ runId: OK, next: 3, ended: true });
    expect(res.headers.get("cache-control")).toMatch(/^public, max-age=\d+, immutable$/);
    expect(maxAge(res.headers.get("cache-control") ?? "")).toBeLessThanOrEqual(7200);
    expect(res.headers.get("etag")).toBe(pollEtag(OK, 1, 3, true));
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("vary")).toBeNull();
  });

  it("makes every error `no-store`, whichever layer answered", async () => {
    reads.length = 0;
    const refusals: Array<[string, string, number, string]> = [
      [OK, "token=$TOKEN&after=1&live=long-poll", 400, "invalid_query"],
      [OK, "token=$TOKEN&after=1&after=2", 400, "invalid_query"],
      [OK, "token=$TOKEN&%61fter=1", 400, "invalid_query"],
      [OK, "token=$TOKEN&after=1&", 400, "invalid_query"],
      [OK, "token=$TOKEN&after=01", 400, "invalid_cursor"],
      [OK, "token=$TOKEN&after=%31", 400, "invalid_cursor"],
      [OK, "token=$TOKEN&after=+1", 400, "invalid_cursor"],
      [OK, "token=$TOKEN&after=", 400, "invalid_cursor"],
      [OK, "token=$TOKEN&after=10000000000", 400, "invalid_cursor"],
      [OK, "token=$TOKEN&after=-1", 400, "invalid_cursor"],
      [OK, "after=1", 401, "missing_token"],
      [OK, "token=nope", 401, "invalid_token"],
      [OK, "token=%65$TOKEN", 401, "invalid_token"],
    ];
    for (const [runId, query, status, code] of refusals) {
      const res = await poll(runId, query);
      expect([query, res.status, (await res.json()).error.code]).toEqual([query, status, code]);
      expect(res.headers.get("cache-control")).toBe(NO_STORE);
    }
    // Refused before any store read.
    expect(reads).toEqual([]);
    const badId = await app.request("/runs/not-a-ulid/poll");
    expect([badId.status, badId.headers.get("cache-control")]).toEqual([400, NO_STORE]);
    for (const [runId, status] of [
      [MISSING, 404],
      [DOWN, 503],
      [BUG, 500],
    ] as const) {
      const res = await poll(runId, "token=$TOKEN");
      expect([runId, res.status]).toEqual([runId, status]);
      expect(res.headers.get("cache-control")).toBe(NO_STORE);
    }
    const wrongMethod = await app.request(`/runs/${OK}/poll`, { method: "POST" });
    expect([wrongMethod.status, wrongMethod.headers.get("cache-control")]).toEqual([404, NO_STORE]);
  });
});

describe("pollEtag", () => {
  it("is a strong tag that changes with every input", () => {
    const base = pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ0", 5, 9, false);
    expect(base).toMatch(/^"[^"]+"$/);
    expect(pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ0", 5, 9, false)).toBe(base);
    for (const other of [
      pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ1", 5, 9, false),
      pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ0", 4, 9, false),
      pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ0", 5, 10, false),
      pollEtag("01JABCDEFGHJKMNPQRSTVWXYZ0", 5, 9, true),
    ])
      expect(other).not.toBe(base);
  });
});
