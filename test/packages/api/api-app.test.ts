import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STREAM_AUDIENCE } from "../../../packages/auth/index.ts";
import { isTerminalType } from "../../../packages/events/index.ts";
import {
  type Answer,
  algNoneToken,
  answer,
  callerToken,
  countItems,
  expectCleanError,
  expectNoLeak,
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
import { startTestStack } from "../../support/stack.ts";

/**
 * Hostile input to the API app through real HTTP: one table of requests that must each be
 * refused with the one error shape, create nothing, and leave the server healthy. The main stack
 * runs with the default security settings (AUTH=jwt, a known AUTH_JWT_SECRET, no issuer/audience,
 * stream tokens signed with the same secret, 15-minute stream tokens); a second stack adds
 * AUTH_ISSUER / AUTH_AUDIENCE and CORS_ORIGINS; a third checks the active-run limit. The
 * stream's share of the table is in test/packages/stream/stream-app.test.ts.
 */

type TestStack = Awaited<ReturnType<typeof startTestStack>>;

const ISSUER = "https://issuer.example.com/";
const AUDIENCE = "stagecast-api";
const ALLOWED_ORIGIN = "https://app.example.com";

/** A question full of control characters that would forge SSE fields if it were written raw. */
const FORGED =
  'line one\n\ndata: {"forged":true}\nevent: run.completed\nid: 999\r\n\r\nretry: 1\u0000\u0007\u001b[31m\u2028\u2029 end';
/** Bytes that are not UTF-8: 0xFF, 0xFE, an overlong lead (0xC0), a UTF-8-encoded surrogate. */
const BAD_UTF8 = Buffer.from([0xff, 0xfe, 0xc0, 0xed, 0xa0, 0x80]);

let main: TestStack;
let cfg: TestStack;

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
  /** A caller token valid on the configured stack (issuer and audience) and a stream token from it. */
  cfgAlice: "",
  cfgStream: "",
};

interface Call {
  method?: string;
  /** Caller token; undefined = alice's, null = no Authorization header. */
  token?: string | null;
  /** Authorization header as is (wins over `token`). */
  authorization?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  stack?: TestStack;
}

/** One request to the API with alice's token unless told otherwise. */
async function call(path: string, options: Call = {}): Promise<Answer> {
  const token = options.token === undefined ? fx.alice : options.token;
  const authorization = options.authorization ?? (token === null ? undefined : `Bearer ${token}`);
  return answer(
    fetch(`${(options.stack ?? main).url}${path}`, {
      method: options.method ?? "GET",
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(options.headers ?? {}),
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    }),
  );
}

/** POST /runs with a JSON content type and `body` as is. */
const postRuns = (body: string | Uint8Array<ArrayBuffer>, options: Call = {}) =>
  call("/runs", {
    ...options,
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...(options.headers ?? {}) },
  });

const VALID = JSON.stringify({ question: "What is a valid question?" });

const withToken = (token: string, extra = "") => `token=${encodeURIComponent(token)}${extra}`;

/** A raw request to the main stack, with Host and Connection: close added. */
const raw = (requestLine: string, headerLines: string[], body?: Buffer) =>
  rawRequest(main.url, requestLine, headerLines, body);

/** A JSON nesting `depth` levels deep: `[[[…]]]`. */
const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** A ULID-shaped id nobody owns. */
const UNKNOWN_RUN = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

const cases: RefusalCase[] = [
  // ---- POST /runs: malformed and non-object JSON -------------------------------------------
  { name: "malformed JSON", send: () => postRuns('{"question":'), status: 400, code: "invalid_json" },
  { name: "not JSON at all", send: () => postRuns("question=hi"), status: 400, code: "invalid_json" },
  { name: "empty body", send: () => postRuns(""), status: 400, code: "invalid_json" },
  {
    name: "JSON with a trailing comma",
    send: () => postRuns('{"question":"hi",}'),
    status: 400,
    code: "invalid_json",
  },
  { name: "JSON array", send: () => postRuns('[{"question":"hi"}]'), status: 400, code: "invalid_request" },
  { name: "JSON string", send: () => postRuns('"hi"'), status: 400, code: "invalid_request" },
  { name: "JSON number", send: () => postRuns("42"), status: 400, code: "invalid_request" },
  { name: "JSON null", send: () => postRuns("null"), status: 400, code: "invalid_request" },
  { name: "JSON true", send: () => postRuns("true"), status: 400, code: "invalid_request" },
  // ---- wrong types, unknown fields -----------------------------------------------------------
  {
    name: "question is a number",
    send: () => postRuns('{"question":42}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "question is an array",
    send: () => postRuns('{"question":["a","b"]}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "question is an object",
    send: () => postRuns('{"question":{"text":"hi"}}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "question is 1e400 (Infinity)",
    send: () => postRuns('{"question":1e400}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "projectId is a number",
    send: () => postRuns('{"question":"hi","projectId":7}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "unknown field (typo qestion)",
    send: () => postRuns('{"qestion":"hi"}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "unknown field beside a valid question",
    send: () => postRuns('{"question":"hi","admin":true}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "__proto__ key (prototype pollution)",
    send: () => postRuns('{"question":"hi","__proto__":{"owner":"mallory"}}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "constructor.prototype key",
    send: () => postRuns('{"question":"hi","constructor":{"prototype":{"owner":"mallory"}}}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "duplicate keys, the last one empty",
    send: () => postRuns('{"question":"hi","question":""}'),
    status: 400,
    code: "invalid_request",
  },
  // ---- size and depth ------------------------------------------------------------------------
  {
    name: "huge body (70 KiB, Content-Length)",
    send: () => postRuns(JSON.stringify({ question: "x".repeat(70 * 1024) })),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "huge chunked body (no Content-Length)",
    send: () => {
      const chunk = Buffer.from(JSON.stringify({ question: "y".repeat(70 * 1024) }));
      const body = Buffer.concat([
        Buffer.from(`${chunk.length.toString(16)}\r\n`),
        chunk,
        Buffer.from("\r\n0\r\n\r\n"),
      ]);
      return raw(
        "POST /runs HTTP/1.1",
        [`Authorization: Bearer ${fx.alice}`, "Content-Type: application/json", "Transfer-Encoding: chunked"],
        body,
      );
    },
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "Content-Length claims 10 GiB (refused before reading)",
    send: () =>
      raw(
        "POST /runs HTTP/1.1",
        [
          `Authorization: Bearer ${fx.alice}`,
          "Content-Type: application/json",
          "Content-Length: 10737418240",
        ],
        Buffer.from(VALID),
      ),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "10,000 levels of nested arrays in an extra field",
    send: () => postRuns(`{"question":"hi","x":${nestedArrays(10_000)}}`),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "10,000 levels of nested objects in an extra field",
    send: () => postRuns(`{"question":"hi","x":${nestedObjects(10_000)}}`),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "32,000 levels of nested arrays as the question (just under 64 KiB)",
    send: () => postRuns(`{"question":${nestedArrays(32_000)}}`),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "question of 8,001 characters",
    send: () => postRuns(JSON.stringify({ question: "q".repeat(8001) })),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "question of 8,001 CJK characters",
    send: () => postRuns(JSON.stringify({ question: "問".repeat(8001) })),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "empty question",
    send: () => postRuns('{"question":""}'),
    status: 400,
    code: "invalid_request",
  },
  {
    name: "whitespace-only question",
    send: () => postRuns(JSON.stringify({ question: " \t\n\r\u00a0\u3000 " })),
    status: 400,
    code: "invalid_request",
  },
  { name: "no question", send: () => postRuns("{}"), status: 400, code: "invalid_request" },
  // ---- identifiers in the body ---------------------------------------------------------------
  ...(
    [
      ["projectId", "../x"],
      ["projectId", "p".repeat(65)],
      ["projectId", "my project"],
      ["projectId", "a#RUN"],
      ["conversationId", "../../etc/passwd"],
      ["conversationId", "c".repeat(65)],
      ["conversationId", "a b"],
      ["conversationId", ""],
    ] as const
  ).map(
    ([field, value]): RefusalCase => ({
      name: `${field} ${JSON.stringify(value.length > 20 ? `${value.slice(0, 3)}…(${value.length})` : value)}`,
      send: () => postRuns(JSON.stringify({ question: "hi", [field]: value })),
      status: 400,
      code: "invalid_request",
    }),
  ),
  // ---- media type, idempotency key ---------------------------------------------------------
  {
    name: "Content-Type text/plain",
    send: () => postRuns(VALID, { headers: { "content-type": "text/plain" } }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "no Content-Type",
    send: () => call("/runs", { method: "POST", body: new TextEncoder().encode(VALID) }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "Idempotency-Key with a space",
    send: () => postRuns(VALID, { headers: { "idempotency-key": "a b" } }),
    status: 400,
    code: "invalid_idempotency_key",
  },
  {
    name: "Idempotency-Key of 256 characters",
    send: () => postRuns(VALID, { headers: { "idempotency-key": "k".repeat(256) } }),
    status: 400,
    code: "invalid_idempotency_key",
  },
  {
    name: "Idempotency-Key with a non-ASCII byte",
    send: () => postRuns(VALID, { headers: { "idempotency-key": "cl\u00e9" } }),
    status: 400,
    code: "invalid_idempotency_key",
  },
  {
    name: "empty Idempotency-Key",
    send: () => postRuns(VALID, { headers: { "idempotency-key": "" } }),
    status: 400,
    code: "invalid_idempotency_key",
  },
  // ---- run ids in paths ----------------------------------------------------------------------
  {
    name: "GET /runs/..%2F..%2Fetc%2Fpasswd",
    send: () => call("/runs/..%2F..%2Fetc%2Fpasswd"),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{double-encoded ../}",
    send: () => call("/runs/%252e%252e%252f%252e%252e%252f"),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{5,000 characters}",
    send: () => call(`/runs/${"A".repeat(5000)}`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{lowercase ULID}",
    send: () => call(`/runs/${fx.aliceRun.toLowerCase()}`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{25 characters}",
    send: () => call(`/runs/${fx.aliceRun.slice(0, 25)}`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{27 characters}",
    send: () => call(`/runs/${fx.aliceRun}0`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{ULID with a letter Crockford excludes}",
    send: () => call(`/runs/${fx.aliceRun.slice(0, 25)}U`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{26 URL-encoded NULs}",
    send: () => call(`/runs/${"%00".repeat(26)}`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{run id + encoded NUL}",
    send: () => call(`/runs/${fx.aliceRun}%00`),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{malformed percent-encoding}",
    send: () => call("/runs/%E0%A4%A"),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "GET /runs/{bad}/events",
    send: () => call("/runs/..%2F..%2F/events"),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "POST /runs/{bad}/cancel",
    send: () => call(`/runs/${"%00".repeat(26)}/cancel`, { method: "POST" }),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "POST /runs/{bad}/stream-token",
    send: () => call(`/runs/${"Z".repeat(300)}/stream-token`, { method: "POST" }),
    status: 400,
    code: "invalid_run_id",
  },
  {
    name: "raw GET /runs/../../etc/passwd (unnormalised path)",
    send: () => raw("GET /runs/../../etc/passwd HTTP/1.1", [`Authorization: Bearer ${fx.alice}`]),
    status: 404,
    code: "not_found",
  },
  // ---- /events cursors and page sizes --------------------------------------------------------
  ...["-1", "abc", "1e3", "0x10", "1.5", "99999999999", "9".repeat(10_000), "%00", "%20"].map(
    (after): RefusalCase => ({
      name: `/events?after=${after.length > 20 ? `9…(${after.length})` : after}`,
      send: () => call(`/runs/${fx.aliceRun}/events?after=${after}`),
      status: 400,
      code: "invalid_cursor",
    }),
  ),
  ...["0", "1001", "-5", "1.5", "abc", "", "9".repeat(400)].map(
    (limit): RefusalCase => ({
      name: `/events?limit=${limit.length > 20 ? `9…(${limit.length})` : JSON.stringify(limit)}`,
      send: () => call(`/runs/${fx.aliceRun}/events?limit=${limit}`),
      status: 400,
      code: "invalid_limit",
    }),
  ),
  { name: "GET /runs?limit=101", send: () => call("/runs?limit=101"), status: 400, code: "invalid_limit" },
  { name: "GET /runs?limit=0", send: () => call("/runs?limit=0"), status: 400, code: "invalid_limit" },
  // ---- bad caller tokens on the API --------------------------------------------------------
  {
    name: "GET /runs without Authorization",
    send: () => call("/runs", { token: null }),
    status: 401,
    code: "missing_token",
  },
  {
    name: "POST /runs without Authorization",
    send: () => postRuns(VALID, { token: null }),
    status: 401,
    code: "missing_token",
  },
  {
    name: "Authorization: Basic",
    send: () => call("/runs", { authorization: "Basic YWxpY2U6c2VjcmV0" }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "Authorization: Bearer with nothing after it",
    send: () => call("/runs", { authorization: "Bearer " }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "Bearer garbage",
    send: () => call("/runs", { authorization: "Bearer garbage" }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "Bearer a.b.c",
    send: () => call("/runs", { authorization: "Bearer a.b.c" }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "Bearer of 8 KiB of garbage",
    send: () => call("/runs", { authorization: `Bearer ${"x.".repeat(4096)}x` }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token with a wrong signature",
    send: async () =>
      call("/runs", {
        token: await signJwt(OTHER_SECRET, { sub: "alice", exp: nowSeconds() + 3600 }),
      }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "expired caller token",
    send: async () =>
      call("/runs", {
        token: await signJwt(SECRET, { sub: "alice", iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }),
      }),
    status: 401,
    code: "token_expired",
  },
  {
    name: "expired caller token on POST /runs",
    send: async () =>
      postRuns(VALID, {
        token: await signJwt(SECRET, { sub: "alice", iat: nowSeconds() - 7200, exp: nowSeconds() - 60 }),
      }),
    status: 401,
    code: "token_expired",
  },
  {
    name: "caller token with alg none",
    send: () => call("/runs", { token: algNoneToken({ sub: "alice", exp: nowSeconds() + 3600 }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token with alg none on POST /runs",
    send: () => postRuns(VALID, { token: algNoneToken({ sub: "alice", exp: nowSeconds() + 3600 }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token signed HS512 with the right secret",
    send: async () =>
      call("/runs", { token: await signJwt(SECRET, { sub: "alice", exp: nowSeconds() + 3600 }, "HS512") }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token with a tampered sub",
    send: () => call("/runs", { token: tamperPayload(fx.mallory, { sub: "alice" }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token without sub",
    send: async () => call("/runs", { token: await signJwt(SECRET, { exp: nowSeconds() + 3600 }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token with a 257-character sub",
    send: async () => call("/runs", { token: await callerToken("s".repeat(257)) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "caller token not valid before an hour from now",
    send: async () => call("/runs", { token: await callerToken("alice", { nbf: nowSeconds() + 3600 }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    // A stream token travels in URLs (logs, history, Referer); it must not open the API.
    name: "a stream token used as the caller's bearer token",
    send: () => call("/runs", { token: fx.aliceStream }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "a stream token used to cancel its own run",
    send: () => call(`/runs/${fx.aliceRun}/cancel`, { method: "POST", token: fx.aliceStream }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "bad token on GET /runs/{id}/events (auth before lookup)",
    send: () => call(`/runs/${fx.aliceRun}/events`, { authorization: "Bearer nope" }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "no token on POST /runs/{id}/cancel",
    send: () => call(`/runs/${fx.aliceRun}/cancel`, { method: "POST", token: null }),
    status: 401,
    code: "missing_token",
  },
  {
    name: "no token on POST /runs/{id}/stream-token",
    send: () => call(`/runs/${fx.aliceRun}/stream-token`, { method: "POST", token: null }),
    status: 401,
    code: "missing_token",
  },
  // ---- issuer and audience (configured stack) ----------------------------------------------
  {
    name: "configured: wrong issuer",
    on: "configured",
    send: async () =>
      call("/runs", {
        stack: cfg,
        token: await callerToken("alice", { iss: "https://evil.example.com/", aud: AUDIENCE }),
      }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "configured: wrong audience",
    on: "configured",
    send: async () =>
      call("/runs", { stack: cfg, token: await callerToken("alice", { iss: ISSUER, aud: "another-api" }) }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "configured: no issuer or audience",
    on: "configured",
    send: async () => call("/runs", { stack: cfg, token: await callerToken("alice") }),
    status: 401,
    code: "invalid_token",
  },
  {
    name: "configured: expired token with the right issuer and audience",
    on: "configured",
    send: async () =>
      postRuns(VALID, {
        stack: cfg,
        token: await signJwt(SECRET, { sub: "alice", iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() - 60 }),
      }),
    status: 401,
    code: "token_expired",
  },
  {
    name: "configured: a stream token used as the caller's bearer token",
    on: "configured",
    send: () => postRuns(VALID, { stack: cfg, token: fx.cfgStream }),
    status: 401,
    code: "invalid_token",
  },
  // ---- other principals' runs: 404, as if they did not exist --------------------------------
  {
    name: "mallory GET /runs/{alice's run}",
    send: () => call(`/runs/${fx.aliceRun}`, { token: fx.mallory }),
    status: 404,
    code: "run_not_found",
  },
  {
    name: "mallory GET /runs/{alice's run}/events",
    send: () => call(`/runs/${fx.aliceRun}/events`, { token: fx.mallory }),
    status: 404,
    code: "run_not_found",
  },
  {
    name: "mallory POST /runs/{alice's run}/stream-token",
    send: () => call(`/runs/${fx.aliceRun}/stream-token`, { method: "POST", token: fx.mallory }),
    status: 404,
    code: "run_not_found",
  },
  {
    name: "mallory POST /runs/{alice's run}/cancel",
    send: () => call(`/runs/${fx.aliceRun}/cancel`, { method: "POST", token: fx.mallory }),
    status: 404,
    code: "run_not_found",
  },
  {
    name: "GET /runs/{a ULID nobody owns}",
    send: () => call(`/runs/${UNKNOWN_RUN}`),
    status: 404,
    code: "run_not_found",
  },
  // ---- routes that do not exist -------------------------------------------------------------
  {
    name: "PUT /runs",
    send: () =>
      call("/runs", { method: "PUT", body: VALID, headers: { "content-type": "application/json" } }),
    status: 404,
    code: "not_found",
  },
  {
    name: "DELETE /runs/{id}",
    send: () => call(`/runs/${fx.aliceRun}`, { method: "DELETE" }),
    status: 404,
    code: "not_found",
  },
  { name: "GET /admin", send: () => call("/admin"), status: 404, code: "not_found" },
];

beforeAll(async () => {
  [main, cfg] = await Promise.all([
    startTestStack({ ...HOSTILE_AUTH_ENV, OFFLINE_MODEL_TOKENS_PER_SECOND: "0" }),
    startTestStack({
      ...HOSTILE_AUTH_ENV,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      CORS_ORIGINS: ALLOWED_ORIGIN,
      OFFLINE_MODEL_TOKENS_PER_SECOND: "0",
    }),
  ]);
  fx.alice = await callerToken("alice");
  fx.mallory = await callerToken("mallory");
  const start = (stack: TestStack, token: string, question: string) => startRunAs(stack.url, token, question);
  const a1 = await start(main, fx.alice, "Alice's first question");
  const a2 = await start(main, fx.alice, "Alice's second question");
  const m1 = await start(main, fx.mallory, "Mallory's question");
  Object.assign(fx, {
    aliceRun: a1.runId,
    aliceStream: a1.streamToken,
    aliceRun2: a2.runId,
    aliceStream2: a2.streamToken,
    malloryRun: m1.runId,
    malloryStream: m1.streamToken,
  });
  fx.cfgAlice = await callerToken("alice", { iss: ISSUER, aud: AUDIENCE });
  fx.cfgStream = (await start(cfg, fx.cfgAlice, "A question on the configured stack")).streamToken;
  // Nothing runs while the table counts items.
  await Promise.all([main.workflow.idle(), cfg.workflow.idle()]);
});

afterAll(async () => {
  await Promise.all([main?.stop(), cfg?.stop()]);
});

describe("hostile input through real HTTP", () => {
  it("the table has at least 40 cases with distinct names", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it("hand-made tokens are accepted when valid (so the refusals below are meaningful)", async () => {
    const caller = await callerToken("alice");
    expect((await call("/runs", { token: caller })).status).toBe(200);
    const streamToken = await signJwt(SECRET, {
      run: fx.aliceRun,
      sub: "alice",
      aud: STREAM_AUDIENCE,
      exp: nowSeconds() + 600,
    });
    const read = await readSse(`${main.url}/runs/${fx.aliceRun}/stream?${withToken(streamToken)}`);
    expect(read.status).toBe(200);
    expect(read.frames.at(-1)?.event).toBe("run.completed");
    expect((await call("/runs", { stack: cfg, token: fx.cfgAlice })).status).toBe(200);
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const stack = c.on === "configured" ? cfg : main;
      const before = await countItems(stack.store);
      const a = await c.send();
      expectCleanError(a, c.status, c.code, SECRETS);
      if (c.status === 401) {
        expect(a.headers.get("www-authenticate")).toBe(`Bearer error="${c.code}"`);
      }
      expect(a.headers.get("content-type") ?? "").not.toMatch(/event-stream/);
      c.check?.(a);
      expect(await countItems(stack.store)).toBe(before);
    });
  }

  it("someone else's run and a missing run answer the very same 404", async () => {
    const theirs = JSON.parse((await call(`/runs/${fx.aliceRun}`, { token: fx.mallory })).body);
    const missing = JSON.parse((await call(`/runs/${UNKNOWN_RUN}`, { token: fx.mallory })).body);
    expect(theirs.error.message).toBe(missing.error.message);
    // Alice's run was not cancelled by mallory's attempt.
    expect(JSON.parse((await call(`/runs/${fx.aliceRun}`)).body).status).toBe("completed");
  });

  it("GET /runs lists only the caller's runs", async () => {
    const ids = async (token: string) =>
      (JSON.parse((await call("/runs", { token })).body) as { runs: { runId: string }[] }).runs.map(
        (r) => r.runId,
      );
    const alices = await ids(fx.alice);
    expect(alices).toEqual(expect.arrayContaining([fx.aliceRun, fx.aliceRun2]));
    expect(alices).not.toContain(fx.malloryRun);
    expect(await ids(fx.mallory)).toEqual([fx.malloryRun]);
    expect(await ids(await callerToken("nobody"))).toEqual([]);
  });

  /*
   * Odd characters in the question. The question is user text, so the server accepts whatever
   * Unicode string the JSON decoder yields and treats it as data, never as markup or protocol:
   * - C0 controls, CR/LF and U+2028 are kept exactly; every SSE frame carries them JSON-escaped,
   *   so they cannot forge an SSE field (`data:`, `id:`, `event:`) or end a frame early.
   * - Lone surrogates (`\ud800` escapes) are kept as they are (JSON escapes them on the way out).
   * - Invalid UTF-8 bytes never reach the handler as bytes: the body is decoded as UTF-8 with
   *   replacement, so they arrive as U+FFFD (a sanitised accept, as in every WHATWG client).
   * So each is a 202 that creates exactly one run, which completes normally.
   */
  const oddQuestions: { name: string; body: () => Uint8Array<ArrayBuffer>; expected: string }[] = [
    {
      name: "control characters and an SSE injection attempt",
      body: () => new TextEncoder().encode(JSON.stringify({ question: FORGED })),
      expected: FORGED,
    },
    {
      name: "lone surrogates",
      body: () => new TextEncoder().encode('{"question":"a\\ud800b\\udfffc"}'),
      expected: "a\ud800b\udfffc",
    },
    {
      name: "invalid UTF-8 bytes",
      body: () => Buffer.concat([Buffer.from('{"question":"a'), BAD_UTF8, Buffer.from('b"}')]),
      expected: `a${new TextDecoder().decode(BAD_UTF8)}b`,
    },
  ];
  for (const odd of oddQuestions) {
    it(`a question with ${odd.name} is accepted as text and the run completes`, async () => {
      const runsBefore = await countItems(main.store);
      const res = await postRuns(odd.body());
      expect(res.status).toBe(202);
      const { runId, links } = JSON.parse(res.body) as { runId: string; links: { stream: string } };
      const read = await readSse(links.stream);
      expect(read.status).toBe(200);
      // Frames are exactly the log: ids 1..n in order, one terminal event at the very end.
      expect(read.frames.map((f) => f.id)).toEqual(read.frames.map((_, i) => String(i + 1)));
      expect(read.frames.filter((f) => isTerminalType(f.event as never))).toHaveLength(1);
      expect(read.frames.at(-1)?.event).toBe("run.completed");
      const queued = JSON.parse(read.frames[0]?.data ?? "{}") as { data: { question: string } };
      expect(queued.data.question).toBe(odd.expected);
      const view = JSON.parse((await call(`/runs/${runId}`)).body) as { question: string; status: string };
      expect(view).toMatchObject({ question: odd.expected, status: "completed" });
      await main.workflow.idle();
      expect(await countItems(main.store)).toBeGreaterThan(runsBefore);
    });
  }

  it("after all of the above, the server still serves a normal run", async () => {
    const res = await postRuns(JSON.stringify({ question: "Are you still healthy?" }));
    expect(res.status).toBe(202);
    const body = JSON.parse(res.body) as { links: { stream: string } };
    const read = await readSse(body.links.stream);
    expect(read.status).toBe(200);
    expect(read.ended).toBe(true);
    expect(read.frames[0]?.event).toBe("run.queued");
    expect(read.frames.at(-1)?.event).toBe("run.completed");
  });
});

describe("CORS and the page's headers", () => {
  const preflight = (url: string, origin: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  it("no origin is allowed by default", async () => {
    for (const origin of ["https://evil.example", ALLOWED_ORIGIN, "null"]) {
      const res = await preflight(`${main.url}/runs`, origin);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("a configured origin is echoed on the API and the stream; others get nothing", async () => {
    for (const path of ["/runs", `/runs/${UNKNOWN_RUN}/stream`]) {
      const ok = await preflight(`${cfg.url}${path}`, ALLOWED_ORIGIN);
      expect(ok.status).toBeLessThan(300);
      expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
      expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
      expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
      for (const origin of ["https://evil.example", "https://app.example.com.evil.example", "null"]) {
        const no = await preflight(`${cfg.url}${path}`, origin);
        expect(no.headers.get("access-control-allow-origin")).toBeNull();
      }
    }
    // An error response to the allowed origin is readable by its page.
    const denied = await fetch(`${cfg.url}/runs`, { headers: { origin: ALLOWED_ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
  });

  it("the page has a nonce-based Content-Security-Policy and nosniff", async () => {
    const res = await fetch(`${main.url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=_-]{16,})'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain(`nonce="${nonce}"`);
    for (const script of html.match(/<script\b[^>]*>/g) ?? []) expect(script).toContain(`nonce="${nonce}"`);
    // A configured secret means no development token is offered on the page.
    expect(html).not.toMatch(/eyJ[\w-]+\.eyJ/);
    const again = (await fetch(`${main.url}/`)).headers.get("content-security-policy") ?? "";
    expect(again).not.toContain(nonce);
  });
});

describe("the active-run limit", () => {
  let lim: TestStack;
  beforeAll(async () => {
    lim = await startTestStack({
      ...HOSTILE_AUTH_ENV,
      MAX_ACTIVE_RUNS: "1",
      OFFLINE_MODEL_TOKENS_PER_SECOND: "5",
    });
  });
  afterAll(async () => {
    await lim?.stop();
  });

  it("a second run while one is active → 429 with Retry-After; after cancelling, a run starts", async () => {
    const alice = await callerToken("alice");
    const post = (token: string, key?: string) =>
      postRuns(VALID, { stack: lim, token, ...(key ? { headers: { "idempotency-key": key } } : {}) });
    const cancel = async (runId: string) =>
      (await call(`/runs/${runId}/cancel`, { stack: lim, method: "POST", token: alice })).status;

    const first = await post(alice);
    expect(first.status).toBe(202);
    const firstId = (JSON.parse(first.body) as { runId: string }).runId;

    // The first run keeps writing its own events (and its stages' durations); everything else
    // must stay as it is.
    const running = [`RUN#${firstId}`, "STATS#AGENT#default"];
    const before = await countItems(lim.store, running);
    const refused = await post(alice, "retry-me-later");
    expectCleanError(refused, 429, "too_many_active_runs", SECRETS);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await countItems(lim.store, running)).toBe(before);

    // The limit is per principal: mallory may still start one.
    const mallory = await callerToken("mallory");
    const theirs = await post(mallory);
    expect(theirs.status).toBe(202);
    const theirId = (JSON.parse(theirs.body) as { runId: string }).runId;
    expect(
      (await call(`/runs/${theirId}/cancel`, { stack: lim, method: "POST", token: mallory })).status,
    ).toBe(202);

    expect(await cancel(firstId)).toBe(202);
    // The refused key was released, so the retry starts a run rather than replaying the 429.
    const retried = await post(alice, "retry-me-later");
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    const retriedId = (JSON.parse(retried.body) as { runId: string }).runId;
    expect(retriedId).not.toBe(firstId);
    expect(await cancel(retriedId)).toBe(202);
    expectNoLeak(retried.body, SECRETS);
  });
});
