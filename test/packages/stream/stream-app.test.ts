import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countStoreRequests, type StoreCounter } from "../../../bench/instrument.ts";
import { STREAM_AUDIENCE } from "../../../packages/auth/index.ts";
import {
  EndedSchema,
  isTerminalType,
  ReconnectSchema,
  type RunEvent,
} from "../../../packages/events/index.ts";
import {
  algNoneToken,
  answer,
  callerToken,
  countItems,
  expectCleanError,
  HOSTILE_AUTH_ENV,
  nowSeconds,
  OTHER_SECRET,
  type RefusalCase,
  rawRequest,
  SECRET,
  SECRETS,
  signJwt,
  startRunAs,
  tamperPayload,
} from "../../support/hostile.ts";
import { readSse } from "../../support/sse.ts";
import { startRun, startTestStack } from "../../support/stack.ts";

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** Stored events from a stream's frames (frames with an id), in arrival order. */
const eventsOf = (frames: Array<{ id?: string | undefined; data: string }>): RunEvent[] =>
  frames.filter((f) => f.id !== undefined).map((f) => JSON.parse(f.data) as RunEvent);

/** Dense 1..n seqs ending in exactly one terminal event. */
function expectWholeLog(events: RunEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  expect(isTerminalType(events.at(-1)?.type ?? "")).toBe(true);
}

describe("GET /runs/{id}/stream with a cursor ahead of the log", () => {
  let stack: Stack;
  let counter: StoreCounter | undefined;
  beforeAll(async () => {
    stack = await startTestStack(
      // A run of about 2-3 s; a 20-ms poll floor, so one poller costs at most 50 reads/s.
      { OFFLINE_MODEL_TOKENS_PER_SECOND: "80", STREAM_POLL_MIN_MS: "20", STREAM_POLL_MAX_MS: "100" },
      {
        instrumentDynamo: (client) => {
          counter = countStoreRequests(client);
        },
      },
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Watch one run with `normal` plain watchers and, first, the given ahead watchers; measure reads and CPU. */
  async function watch(aheadIds: string[], normal: number) {
    const question = "Explain how a resumable event stream survives dropped connections, step by step.";
    const started = await startRun(stack.url, { question });
    counter?.reset();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const ahead = aheadIds.map((id) => readSse(started.links.stream, { headers: { "last-event-id": id } }));
    await new Promise((r) => setTimeout(r, 50)); // the ahead watcher is the run's first
    const normals = Array.from({ length: normal }, () => readSse(started.links.stream));
    const [aheadResults, normalResults] = await Promise.all([Promise.all(ahead), Promise.all(normals)]);
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await stack.workflow.idle();
    return {
      ahead: aheadResults,
      normals: normalResults,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      tailReads: counter?.counts.tailReads ?? Number.NaN,
    };
  }

  it("a far-ahead first watcher costs what an idle one does, the others get every event, and its stream ends with `ended`", async () => {
    const baseline = await watch([], 3);
    const withAhead = await watch(["9999999999"], 3);

    for (const r of [...baseline.normals, ...withAhead.normals]) {
      expect(r.status).toBe(200);
      expectWholeLog(eventsOf(r.frames));
    }
    const [ahead] = withAhead.ahead;
    expect(ahead?.status).toBe(200);
    // Nothing stored reaches it (every seq is below its cursor); it ends with one `ended` frame.
    expect(eventsOf(ahead?.frames ?? [])).toEqual([]);
    const last = ahead?.frames.at(-1);
    expect(last?.event).toBe("ended");
    expect(last?.id).toBeUndefined();
    const terminal = eventsOf(withAhead.normals[0]?.frames ?? []).at(-1);
    expect(EndedSchema.parse(JSON.parse(last?.data ?? "{}"))).toEqual({
      runId: terminal?.runId,
      lastSeq: terminal?.seq,
      terminal: terminal?.type,
    });
    expect(ahead?.ended).toBe(true);
    // It ended when the run did (within a poll or two), not at the stream deadline.
    const terminalAt = withAhead.normals[0]?.frames.at(-1)?.at ?? 0;
    expect((last?.at ?? 0) - terminalAt).toBeLessThan(1000);

    // Store reads: one shared poller (≤ 50/s) and each stream's first read, as without it.
    // Before the fix the watchers behind the poller read in a tight loop (thousands of reads).
    const perSecond = (r: { tailReads: number; wallMs: number }) => r.tailReads / (r.wallMs / 1000);
    expect(perSecond(withAhead)).toBeLessThan(60);
    expect(withAhead.tailReads).toBeLessThan(baseline.tailReads * 1.5 + 20);
    // CPU of the whole process (the run itself included): no pinned core.
    expect(withAhead.cpuMs / withAhead.wallMs).toBeLessThan(0.8);
    expect(withAhead.cpuMs).toBeLessThan(baseline.cpuMs * 1.5 + 300);
  });

  it("a watcher at 12 from the start of a run gets exactly the events after 12, then the terminal event", async () => {
    const { ahead, normals } = await watch(["12"], 1);
    const all = eventsOf(normals[0]?.frames ?? []);
    expectWholeLog(all);
    expect(all.length).toBeGreaterThan(13);
    expect(eventsOf(ahead[0]?.frames ?? [])).toEqual(all.slice(12));
  });

  it("a resume past the end of an ended run gets 204 (EventSource stops)", async () => {
    const { normals } = await watch([], 1);
    const runId = eventsOf(normals[0]?.frames ?? [])[0]?.runId;
    const res = await fetch(`${stack.url}/runs/${runId}/stream`, {
      headers: { "last-event-id": "9999999999" },
    });
    expect(res.status).toBe(204);
  });
});

describe("stream framing", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({
      OFFLINE_MODEL_TOKENS_PER_SECOND: "40",
      STREAM_MAX_DURATION_MS: "1000",
      STREAM_RETRY_MS: "250",
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("opens with a heartbeat carrying retry:, and a deadline close is a `reconnect` frame saying where to resume", async () => {
    const started = await startRun(stack.url, { question: "Summarise the history of event streaming." });
    const first = await readSse(started.links.stream);
    expect(first.opening?.event).toBe("heartbeat");
    expect(first.retries[0]).toBe(250);
    const last = first.frames.at(-1);
    expect(last?.event).toBe("reconnect");
    expect(last?.id).toBeUndefined();
    const events = eventsOf(first.frames);
    expect(ReconnectSchema.parse(JSON.parse(last?.data ?? "{}"))).toEqual({
      runId: started.runId,
      lastSeq: events.at(-1)?.seq,
      retryMs: 250,
      reason: "deadline",
    });
    // Every frame with data carries JSON: no empty-data event for any client to choke on.
    for (const f of [first.opening, ...first.frames]) expect(() => JSON.parse(f?.data ?? "")).not.toThrow();
    await stack.workflow.idle();
  });

  it("?format=message sends every frame unnamed, with its type in the data", async () => {
    const started = await startRun(stack.url, { question: "What is 2 + 2?" });
    await stack.workflow.idle();
    const read = await readSse(`${started.links.stream}?format=message`);
    expect(read.opening).toBeUndefined(); // not a named heartbeat
    expect(read.retries[0]).toBe(250);
    expect(read.frames.every((f) => f.event === undefined)).toBe(true);
    const types = read.frames.map((f) => (JSON.parse(f.data) as { type: string }).type);
    expect(types[0]).toBe("heartbeat");
    const events = eventsOf(read.frames);
    expectWholeLog(events);
    expect(types.slice(1)).toEqual(events.map((e) => e.type));
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile input to the stream: requests that must each be refused with the one error shape
// before any SSE byte, create nothing, and leave the server healthy. The stack runs with the
// default security settings (AUTH=jwt, a known AUTH_JWT_SECRET, stream tokens signed with the
// same secret). The API's share of the table is in test/packages/api/api-app.test.ts.

let main: Stack;

/** Tokens and runs made before the table: alice owns two finished runs, mallory one. */
const fx = {
  alice: "",
  mallory: "",
  aliceRun: "",
  aliceRun2: "",
  malloryRun: "",
  aliceStream: "",
  aliceStream2: "",
  malloryStream: "",
};

/** GET a run's stream (no token unless the query or headers carry one). */
const stream = (runId: string, query = "", headers: Record<string, string> = {}) =>
  answer(fetch(`${main.url}/runs/${runId}/stream${query ? `?${query}` : ""}`, { headers }));
const withToken = (token: string, extra = "") => `token=${encodeURIComponent(token)}${extra}`;

/** A raw request to the main stack, with Host and Connection: close added. */
const raw = (requestLine: string, headerLines: string[], body?: Buffer) =>
  rawRequest(main.url, requestLine, headerLines, body);

const cases: RefusalCase[] = [
  {
    name: "GET /runs/{bad}/stream",
    send: () => stream("..%2F..%2Fetc%2Fpasswd"),
    status: 400,
    code: "invalid_run_id",
  },
  // ---- the stream: Last-Event-ID, after, from, flush -----------------------------------------
  ...["abc", "-1", "1e3", "1.0", "\u00e9", "9".repeat(1000)].map(
    (id): RefusalCase => ({
      name: `stream Last-Event-ID ${id.length > 20 ? `9…(${id.length})` : JSON.stringify(id)}`,
      send: () => stream(fx.aliceRun, withToken(fx.aliceStream), { "last-event-id": id }),
      status: 400,
      code: "invalid_cursor",
    }),
  ),
  {
    name: "raw Last-Event-ID with CRLF + an injected header",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, [
        "Last-Event-ID: abc\r\nX-Injected: yes",
      ]),
    status: 400,
    code: "invalid_cursor",
    check: (a) => {
      expect(a.headers.get("x-injected")).toBeNull();
      expect(a.body).not.toContain("X-Injected");
    },
  },
  {
    name: "raw Last-Event-ID with a bare LF (Node refuses it, in the JSON shape)",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, [
        "Last-Event-ID: 1\nX-Injected: yes",
      ]),
    status: 400,
    code: "malformed_request",
  },
  {
    name: "raw Last-Event-ID with a bare CR (Node refuses it, in the JSON shape)",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, [
        "Last-Event-ID: 1\rX-Injected: yes",
      ]),
    status: 400,
    code: "malformed_request",
  },
  {
    name: "raw Last-Event-ID with a NUL byte (Node refuses it, in the JSON shape)",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, ["Last-Event-ID: 1\0"]),
    status: 400,
    code: "malformed_request",
  },
  {
    name: "raw Last-Event-ID folded onto a second line (obs-fold, Node refuses it)",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, [
        "Last-Event-ID: 1",
        " X-Injected: yes",
      ]),
    status: 400,
    code: "malformed_request",
  },
  {
    name: "raw Last-Event-ID of 20,000 digits (Node refuses it, in the JSON shape)",
    send: () =>
      raw(`GET /runs/${fx.aliceRun}/stream?${withToken(fx.aliceStream)} HTTP/1.1`, [
        `Last-Event-ID: ${"9".repeat(20_000)}`,
      ]),
    status: 431,
    code: "headers_too_large",
  },
  ...["abc", "-1", "99999999999"].map(
    (after): RefusalCase => ({
      name: `stream ?after=${after}`,
      send: () => stream(fx.aliceRun, withToken(fx.aliceStream, `&after=${after}`)),
      status: 400,
      code: "invalid_cursor",
    }),
  ),
  ...["earliest", "latest%00", "LATEST"].map(
    (from): RefusalCase => ({
      name: `stream ?from=${from}`,
      send: () => stream(fx.aliceRun, withToken(fx.aliceStream, `&from=${from}`)),
      status: 400,
      code: "invalid_cursor",
    }),
  ),
  ...["bogus", "PAD", "%3Cscript%3E"].map(
    (flush): RefusalCase => ({
      name: `stream ?flush=${flush}`,
      send: () => stream(fx.aliceRun, withToken(fx.aliceStream, `&flush=${flush}`)),
      status: 400,
      code: "invalid_flush",
    }),
  ),
  // ---- bad stream tokens: 401 JSON before any SSE byte ---------------------------------------
  { name: "stream without a token", send: () => stream(fx.aliceRun), status: 401, code: "missing_token" },
  {
    name: "stream with an empty ?token=",
    send: () => stream(fx.aliceRun, "token="),
    status: 401,
    code: "missing_token",
  },
  {
    name: "stream with an expired token",
    send: async () =>
      stream(
        fx.aliceRun,
        withToken(
          await signJwt(SECRET, {
            run: fx.aliceRun,
            sub: "alice",
            aud: STREAM_AUDIENCE,
            iat: nowSeconds() - 1000,
            exp: nowSeconds() - 100,
          }),
        ),
      ),
    status: 401,
    code: "token_expired",
  },
  {
    name: "stream with a tampered payload (another run id, signature kept)",
    send: () => stream(fx.aliceRun, withToken(tamperPayload(fx.aliceStream2, { run: fx.aliceRun }))),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with the token of the caller's other run",
    send: () => stream(fx.aliceRun, withToken(fx.aliceStream2)),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with another principal's stream token",
    send: () => stream(fx.aliceRun, withToken(fx.malloryStream)),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with another principal's token in Authorization",
    send: () => stream(fx.aliceRun, "", { authorization: `Bearer ${fx.malloryStream}` }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with a caller JWT as ?token= (wrong audience)",
    send: () => stream(fx.aliceRun, withToken(fx.alice)),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with a caller JWT in Authorization (wrong audience)",
    send: () => stream(fx.aliceRun, "", { authorization: `Bearer ${fx.alice}` }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with an alg none token",
    send: () =>
      stream(
        fx.aliceRun,
        withToken(
          algNoneToken({ run: fx.aliceRun, sub: "alice", aud: STREAM_AUDIENCE, exp: nowSeconds() + 600 }),
        ),
      ),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with a token signed by another secret",
    send: async () =>
      stream(
        fx.aliceRun,
        withToken(
          await signJwt(OTHER_SECRET, {
            run: fx.aliceRun,
            sub: "alice",
            aud: STREAM_AUDIENCE,
            exp: nowSeconds() + 600,
          }),
        ),
      ),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with an HS512 token",
    send: async () =>
      stream(
        fx.aliceRun,
        withToken(
          await signJwt(
            SECRET,
            { run: fx.aliceRun, sub: "alice", aud: STREAM_AUDIENCE, exp: nowSeconds() + 600 },
            "HS512",
          ),
        ),
      ),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "stream with a garbage token",
    send: () => stream(fx.aliceRun, "token=%3Cscript%3E"),
    status: 401,
    code: "invalid_token",
  },
];

describe("hostile input through real HTTP", () => {
  beforeAll(async () => {
    main = await startTestStack({ ...HOSTILE_AUTH_ENV, OFFLINE_MODEL_TOKENS_PER_SECOND: "0" });
    fx.alice = await callerToken("alice");
    fx.mallory = await callerToken("mallory");
    const a1 = await startRunAs(main.url, fx.alice, "Alice's first question");
    const a2 = await startRunAs(main.url, fx.alice, "Alice's second question");
    const m1 = await startRunAs(main.url, fx.mallory, "Mallory's question");
    Object.assign(fx, {
      aliceRun: a1.runId,
      aliceStream: a1.streamToken,
      aliceRun2: a2.runId,
      aliceStream2: a2.streamToken,
      malloryRun: m1.runId,
      malloryStream: m1.streamToken,
    });
    // Nothing runs while the table counts items.
    await main.workflow.idle();
  });
  afterAll(async () => {
    await main?.stop();
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = await countItems(main.store);
      const a = await c.send();
      expectCleanError(a, c.status, c.code, SECRETS);
      if (c.status === 401) {
        expect(a.headers.get("www-authenticate")).toBe(`Bearer error="${c.code}"`);
      }
      expect(a.headers.get("content-type") ?? "").not.toMatch(/event-stream/);
      c.check?.(a);
      expect(await countItems(main.store)).toBe(before);
    });
  }

  it("fetch itself refuses CR, LF and NUL in a header value (the raw cases above send them)", async () => {
    for (const value of ["1\r\nX-Injected: yes", "1\nX", "1\0"]) {
      await expect(
        fetch(`${main.url}/runs/${fx.aliceRun}/stream`, { headers: { "last-event-id": value } }),
      ).rejects.toThrow(TypeError);
    }
  });
});
