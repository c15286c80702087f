import { randomUUID } from "node:crypto";
import type {
  APIGatewayProxyEventV2,
  Context,
  EventBridgeEvent,
  LambdaFunctionURLEvent,
  SQSRecord,
} from "aws-lambda";

/**
 * Builders for the events Lambda hands Stagecast's functions, shaped as AWS documents and sends
 * them: API Gateway HTTP API payload format 2.0 ("Working with AWS Lambda proxy integrations for
 * HTTP APIs"), Lambda Function URL requests ("Invoking Lambda function URLs", which reuse format
 * 2.0), and the EventBridge "Step Functions Execution Status Change" event.
 */

export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";
export const API_ID = "r3pmxmplak";
export const FUNCTION_URL_ID = "abcdefghijklmnopqrstuvwxyz012345";

/** What a test says about an HTTP request; everything else gets a realistic default. */
export interface HttpRequestSpec {
  method: string;
  /** Path without the query string, e.g. `/runs`. */
  path: string;
  /** The query string as the client sent it, without `?` (e.g. `after=3&limit=10`). */
  query?: string;
  /** Request headers; names are lower-cased as API Gateway and Function URLs deliver them. */
  headers?: Record<string, string>;
  /** Cookies (API Gateway v2 moves the Cookie header into this array). */
  cookies?: string[];
  /** A string body is sent as is; anything else as JSON. */
  body?: unknown;
  /** Route parameters (HTTP API routes such as `GET /runs/{runId}`). */
  pathParameters?: Record<string, string>;
  /** HTTP API only: the matched route, e.g. `POST /runs`; default `$default`. */
  routeKey?: string;
  sourceIp?: string;
  userAgent?: string;
  /** Request time (ms since epoch); default now. */
  timeEpoch?: number;
  /**
   * HTTP API only: the `sub` the route's JWT authorizer verified (its claims land in
   * requestContext.authorizer.jwt); default `user-1`, null for a route without an authorizer.
   */
  authorizerSub?: string | null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `requestContext.time` format: `12/Mar/2020:19:03:58 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(
    d.getUTCMinutes(),
  )}:${p(d.getUTCSeconds())} +0000`;
}

/** `queryStringParameters` as format 2.0 builds it: repeated keys joined with commas; absent when empty. */
function queryParameters(raw: string): Record<string, string> | undefined {
  if (raw === "") return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) out[k] = k in out ? `${out[k]},${v}` : v;
  return out;
}

function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    out[key] = key in out ? `${out[key]},${v}` : v;
  }
  return out;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  return typeof body === "string" ? body : JSON.stringify(body);
}

/** The parts an HTTP API event and a Function URL event share (payload format 2.0). */
function v2Event(
  spec: HttpRequestSpec,
  context: { accountId: string; apiId: string; domainName: string; requestId: string; routeKey: string },
  defaultHeaders: Record<string, string>,
): APIGatewayProxyEventV2 {
  const timeEpoch = spec.timeEpoch ?? Date.now();
  const rawQueryString = spec.query ?? "";
  const body = bodyText(spec.body);
  const userAgent = spec.userAgent ?? "Mozilla/5.0 (X11; Linux x86_64) stagecast-test/1.0";
  const sourceIp = spec.sourceIp ?? "203.0.113.10";
  const headers = lowerCaseHeaders({
    ...defaultHeaders,
    host: context.domainName,
    "user-agent": userAgent,
    "x-forwarded-for": sourceIp,
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https",
    "x-amzn-trace-id": `Root=1-${Math.floor(timeEpoch / 1000).toString(16)}-${randomUUID().replaceAll("-", "").slice(0, 24)}`,
    ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
    ...spec.headers,
  });
  const queryStringParameters = queryParameters(rawQueryString);
  return {
    version: "2.0",
    routeKey: context.routeKey,
    rawPath: spec.path,
    rawQueryString,
    ...(spec.cookies?.length ? { cookies: spec.cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: context.accountId,
      apiId: context.apiId,
      domainName: context.domainName,
      domainPrefix: context.domainName.split(".")[0] ?? context.apiId,
      http: {
        method: spec.method.toUpperCase(),
        path: spec.path,
        protocol: "HTTP/1.1",
        sourceIp,
        userAgent,
      },
      requestId: context.requestId,
      routeKey: context.routeKey,
      stage: "$default",
      time: requestTime(timeEpoch),
      timeEpoch,
    },
    ...(spec.pathParameters ? { pathParameters: spec.pathParameters } : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

/** An API Gateway HTTP API (payload format 2.0) event. */
export function httpApiEvent(spec: HttpRequestSpec): APIGatewayProxyEventV2 {
  // HTTP API request ids look like `JKJaXmPLvHcESHA=`.
  const requestId = `${randomUUID().replaceAll("-", "").slice(0, 14)}=`;
  const sub = spec.authorizerSub === undefined ? "user-1" : spec.authorizerSub;
  const event = v2Event(
    spec,
    {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      domainName: `${API_ID}.execute-api.${REGION}.amazonaws.com`,
      requestId,
      routeKey: spec.routeKey ?? "$default",
    },
    { accept: "*/*" },
  );
  if (sub === null) return event;
  const now = Math.floor(Date.now() / 1000);
  // The shape API Gateway gives a Lambda behind an HTTP API JWT authorizer.
  const authorizer = {
    jwt: {
      claims: { sub, iss: "https://issuer.example.com/", aud: "stagecast", iat: now, exp: now + 3600 },
      scopes: null,
    },
  };
  return { ...event, requestContext: { ...event.requestContext, authorizer } } as APIGatewayProxyEventV2;
}

/** A Lambda Function URL event (format 2.0, routeKey `$default`; `accountId` is `anonymous` for auth type NONE). */
export function functionUrlEvent(
  spec: Omit<HttpRequestSpec, "routeKey" | "pathParameters">,
): LambdaFunctionURLEvent {
  return v2Event(
    spec,
    {
      accountId: "anonymous",
      apiId: FUNCTION_URL_ID,
      domainName: `${FUNCTION_URL_ID}.lambda-url.${REGION}.on.aws`,
      requestId: randomUUID(),
      routeKey: "$default",
    },
    {
      accept: "text/event-stream",
      "x-amzn-tls-version": "TLSv1.3",
      "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
    },
  );
}

/** The `detail` of a "Step Functions Execution Status Change" event. */
export interface ExecutionStatusDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" | "PENDING_REDRIVE";
  startDate: number;
  stopDate: number | null;
  input: string;
  output: string | null;
  error: string | null;
  cause: string | null;
}

/** The EventBridge event Step Functions emits when an execution changes status. */
export function executionStatusChangeEvent(
  detail: Pick<ExecutionStatusDetail, "name" | "status"> & Partial<ExecutionStatusDetail>,
  stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:stagecast`,
): EventBridgeEvent<"Step Functions Execution Status Change", ExecutionStatusDetail> {
  const now = Date.now();
  const executionArn =
    detail.executionArn ?? `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${detail.name}`;
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: ACCOUNT_ID,
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: REGION,
    resources: [executionArn],
    detail: {
      executionArn,
      stateMachineArn,
      startDate: now - 60_000,
      stopDate: detail.status === "RUNNING" ? null : now,
      input: JSON.stringify({ runId: detail.name, state: {} }),
      output: null,
      error: null,
      cause: null,
      ...detail,
    },
  };
}

/** A Lambda invocation context (the object the runtime passes as the handler's second/third argument). */
export function lambdaContext(overrides: Partial<Context> = {}, timeoutMs = 900_000): Context {
  const deadline = Date.now() + timeoutMs;
  const functionName = overrides.functionName ?? "stagecast-fn";
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/11/01/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...overrides,
  };
}

let sqsCounter = 0;
/** An SQS record as Lambda delivers it (AWS Lambda developer guide, "Using Lambda with Amazon SQS"). */
export function sqsRecord(
  body: string,
  messageId = `059f36b4-87a3-44ab-83d2-66${String(++sqsCounter).padStart(10, "0")}`,
): SQSRecord {
  return {
    messageId,
    receiptHandle: `AQEB${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1732190000000",
      SenderId: "AIDAIENQZJOLO23YVJ4VO",
      ApproximateFirstReceiveTimestamp: "1732190000001",
    },
    messageAttributes: {},
    md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:stagecast-runs`,
    awsRegion: REGION,
  };
}
