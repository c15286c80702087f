import { connect } from "node:net";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { type JWTPayload, SignJWT } from "jose";
import { expect } from "vitest";
import type { Store } from "../../packages/store/index.ts";

/** An HTTP answer, from fetch or from a raw socket, with the body read as text. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** Read a fetch Response into an {@link Answer}. */
export async function answer(res: Response | Promise<Response>): Promise<Answer> {
  const r = await res;
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** Seconds since the epoch, now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** An HS256 (or `alg`) JWT over `payload` signed with `secret`, exactly as given: no claims are added. */
export function signJwt(secret: string, payload: JWTPayload, alg = "HS256"): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");

/** An unsigned token built by hand: header `{"alg":"none"}`, the payload, and an empty signature. */
export function algNoneToken(payload: JWTPayload): string {
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.`;
}

/** `token` with its payload changed by `patch` and its original signature kept. */
export function tamperPayload(token: string, patch: JWTPayload): string {
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as JWTPayload;
  return `${header}.${b64url(JSON.stringify({ ...claims, ...patch }))}.${signature}`;
}

/**
 * How many items the store's table holds, leaving out the partitions in `exceptPks` (a run that
 * is still writing its events, say). Nothing is expected to write concurrently otherwise.
 */
export async function countItems(store: Store, exceptPks: string[] = []): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  const names = exceptPks.map((_, i) => `:x${i}`);
  do {
    const page = await store.table.client.send(
      new ScanCommand({
        TableName: store.table.tableName,
        Select: "COUNT",
        ...(exceptPks.length > 0
          ? {
              FilterExpression: `NOT (pk IN (${names.join(", ")}))`,
              ExpressionAttributeValues: Object.fromEntries(exceptPks.map((pk, i) => [`:x${i}`, { S: pk }])),
            }
          : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return count;
}

/** Decode a `Transfer-Encoding: chunked` body. */
function unchunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(at, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Send bytes as they are over a TCP socket (what fetch refuses to send: CR, LF or NUL inside a
 * header value, unnormalised paths) and read the answer until the server closes the connection.
 * Send `Connection: close` in `head`.
 */
export function rawHttp(baseUrl: string, head: string, body: Buffer = Buffer.alloc(0)): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("raw request timed out")));
    socket.on("data", (d: Buffer) => chunks.push(d));
    // The server may close while we are still writing (a body it refused): what it sent counts.
    socket.on("error", (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on("close", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (split < 0) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(all.toString("latin1"))}`));
        return;
      }
      const [statusLine = "", ...lines] = all.subarray(0, split).toString("latin1").split("\r\n");
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      let rest: Buffer = all.subarray(split + 4);
      if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) rest = unchunk(rest);
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.toString("utf8") });
    });
  });
}

/** Patterns an error body must never contain: stack frames, file paths, error class and SDK names. */
const LEAKS: RegExp[] = [
  /^\s*at\s/m, // a stack frame line
  /\bat\s+\S+\s+\(/, // "at fn (" inside a message
  /\(?\/?[\w./-]+\.(?:ts|js|mjs|cjs):\d+/, // file:line
  /\/work\/|node_modules|file:\/\/|\/home\/|\/tmp\//,
  /\b(?:Type|Syntax|Range|Reference)Error\b/,
  /\b(?:ZodError|HTTPException|AuthError|HttpError|StoreError|StoreUnavailableError)\b/,
  /\b(?:JOSE\w*|JWS\w+|JWT(?:Expired|Invalid|ClaimValidationFailed))\b/,
  /\b(?:ValidationException|ResourceNotFoundException|ConditionalCheckFailed\w*|ProvisionedThroughput\w*|DynamoDB|\$metadata)\b/,
  /\bERR_[A-Z_]+\b/,
  /Unexpected (?:token|end of JSON)/,
];

/** Fail if `text` carries any of the leak patterns, or any of `secrets`. */
export function expectNoLeak(text: string, secrets: string[] = []): void {
  for (const leak of LEAKS) expect(text, `leaks ${leak}`).not.toMatch(leak);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

/**
 * The one error shape: JSON `{ error: { code, message, requestId } }` and nothing else, with
 * `status` and `code`, the request id matching X-Request-Id, and no leak.
 */
export function expectCleanError(a: Answer, status: number, code: string, secrets: string[] = []): void {
  expect({ status: a.status, body: a.body.slice(0, 300) }).toMatchObject({ status });
  expect(a.headers.get("content-type") ?? "").toMatch(/^application\/json\b/);
  const parsed = JSON.parse(a.body) as { error: { code: string; message: string; requestId: string } };
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(Object.keys(parsed.error).sort()).toEqual(["code", "message", "requestId"]);
  expect(parsed.error.code).toBe(code);
  expect(typeof parsed.error.message).toBe("string");
  expect(parsed.error.message.length).toBeGreaterThan(0);
  expect(parsed.error.message.length).toBeLessThan(500);
  expect(parsed.error.requestId).toMatch(/^[\w-]{8,}$/);
  const headerId = a.headers.get("x-request-id");
  // Every error carries its request id in the header too, equal to the body's.
  expect(headerId).toBe(parsed.error.requestId);
  expectNoLeak(a.body, secrets);
}

/** The caller secret of the hostile-input suites' stacks (test/packages/api, test/packages/stream). */
export const SECRET = "hostile-input-test-secret-0123456789abcdef";
/** An attacker's own secret: tokens signed with it must be refused. */
export const OTHER_SECRET = "an-attackers-own-secret-0123456789abcdefgh";
/** What no error body may contain. */
export const SECRETS = [SECRET, OTHER_SECRET];

/**
 * The default security settings under hostile input: AUTH=jwt with {@link SECRET}. Stream tokens
 * share the caller secret here (allowed), so only the audience check keeps them from logging in:
 * the hardest case. By default their key is derived (HKDF).
 */
export const HOSTILE_AUTH_ENV = { AUTH: "jwt", AUTH_JWT_SECRET: SECRET, STREAM_TOKEN_SECRET: SECRET };

/** A caller JWT for `sub` signed with {@link SECRET} (HS256, one hour). */
export const callerToken = (sub: string, extra: Record<string, unknown> = {}): Promise<string> =>
  signJwt(SECRET, { sub, iat: nowSeconds(), exp: nowSeconds() + 3600, ...extra });

/** One request of a refusal table: what to send, and the status and error code it must get. */
export interface RefusalCase {
  name: string;
  /** The stack the request goes to (its table is counted before and after). */
  on?: "main" | "configured";
  send: () => Promise<Answer>;
  status: number;
  /**
   * The JSON error code. `null`: Node's HTTP parser refuses the request before any app code runs
   * and answers a bare status with no body (nothing to leak, nothing created).
   */
  code: string;
  check?: (a: Answer) => void;
}

/** A raw request to `baseUrl`, with Host and Connection: close added. */
export function rawRequest(
  baseUrl: string,
  requestLine: string,
  headerLines: string[],
  body?: Buffer,
): Promise<Answer> {
  const head = [requestLine, "Host: 127.0.0.1", ...headerLines, "Connection: close", "", ""].join("\r\n");
  return rawHttp(baseUrl, head, body);
}

/** POST /runs on `baseUrl` as the holder of `token`: a 202, with the run's id and stream token. */
export async function startRunAs(
  baseUrl: string,
  token: string,
  question: string,
): Promise<{ runId: string; streamToken: string }> {
  const res = await answer(
    fetch(`${baseUrl}/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ question }),
    }),
  );
  expect(res.status).toBe(202);
  return JSON.parse(res.body) as { runId: string; streamToken: string };
}
