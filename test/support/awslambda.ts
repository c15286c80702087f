import { Writable } from "node:stream";
import type { Context } from "aws-lambda";
import { lambdaContext } from "./lambda-events.ts";

/**
 * A stand-in for the Lambda Node.js runtime's global `awslambda`, modelled on the runtime
 * interface client AWS runs in its Node.js images (aws/aws-lambda-nodejs-runtime-interface-client:
 * src/utils/globals.ts, src/stream/response-stream.ts, src/stream/http-response-stream.ts,
 * src/runtime/streaming-invoke-processor.ts):
 *
 * - `streamifyResponse(handler)` marks the handler with
 *   `Symbol.for("aws.lambda.runtime.handler.streaming") = "response"` and returns it; the runtime
 *   then calls `handler(event, responseStream, context)` and requires a promise back.
 * - `HttpResponseStream.from(stream, prelude)` sets the content type
 *   `application/vnd.awslambda.http-integration-response` and installs `_onBeforeFirstWrite`, so
 *   that the prelude JSON and then exactly 8 NUL bytes go out right before the first `write()`
 *   (lazily: nothing leaves before the handler writes).
 * - The response stream refuses `setContentType` after the first write, like the real one.
 * - After the handler's promise settles the runtime waits for the stream to end and fails the
 *   invocation when it did not ("Response stream is not finished.").
 */

/** The symbol the runtime reads to decide a handler streams its response. */
export const HANDLER_STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");
/** The symbol under which streamifyResponse stores a `highWaterMark` option. */
export const HANDLER_HIGHWATERMARK = Symbol.for("aws.lambda.runtime.handler.streaming.highWaterMark");
/** The value of {@link HANDLER_STREAMING} on a streaming handler. */
export const STREAM_RESPONSE = "response";
/** Content type of a Function URL / HTTP integration response with a metadata prelude. */
export const HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
/** Length of the NUL delimiter after the prelude (bytes). */
export const DELIMITER_LEN = 8;
/** Content type of a response stream nobody set one on (the runtime's default). */
export const DEFAULT_STREAM_CONTENT_TYPE = "application/octet-stream";

/** One chunk as it reached the runtime's response stream, with the time it was written (ms since epoch). */
export interface RecordedChunk {
  data: Buffer;
  at: number;
}

type WriteFn = (chunk: string | Uint8Array) => void;
type WriteCallback = (error?: Error | null) => void;

/**
 * The response stream the runtime hands a streaming handler: a node Writable that records what
 * was written instead of sending it to the Runtime API.
 */
export class ResponseStream extends Writable {
  /** Every chunk in write order (the prelude and delimiter included), as the runtime would send them. */
  readonly chunks: RecordedChunk[] = [];
  /** How many times `end()` was called. */
  endCalls = 0;
  /** Set by HttpResponseStream.from: runs once, right before the first write. */
  _onBeforeFirstWrite: ((write: WriteFn) => void) | undefined = undefined;
  #contentType = DEFAULT_STREAM_CONTENT_TYPE;
  #writeCalled = false;

  constructor(options: { highWaterMark?: number } = {}) {
    super({ ...options, decodeStrings: true });
  }

  /** The content type the invocation's response carries. */
  get contentType(): string {
    return this.#contentType;
  }

  /** Like the runtime: allowed only before the first write. */
  setContentType(contentType: string): void {
    if (this.#writeCalled) throw new Error("Cannot set content-type, too late.");
    this.#contentType = contentType;
  }

  /** True once `end()` was called and everything was flushed. */
  get ended(): boolean {
    return this.endCalls > 0 && this.writableFinished;
  }

  /** All bytes written so far. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }

  override write(
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    // The runtime serialises anything that is not text or bytes as JSON.
    const data = typeof chunk === "string" || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (!this.#writeCalled && typeof this._onBeforeFirstWrite === "function") {
      this._onBeforeFirstWrite((c) => {
        super.write(c);
      });
    }
    this.#writeCalled = true;
    if (typeof encoding === "function") return super.write(data, encoding);
    if (encoding === undefined) return super.write(data, callback);
    return super.write(data, encoding, callback);
  }

  override end(...args: unknown[]): this {
    this.endCalls += 1;
    return (super.end as (...a: unknown[]) => this)(...args);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.chunks.push({ data: Buffer.from(chunk), at: Date.now() });
    callback();
  }
}

/** `awslambda.HttpResponseStream` as the runtime defines it. */
// biome-ignore lint/complexity/noStaticOnlyClass: the runtime exposes a class with a static `from`; keep its shape.
export class HttpResponseStream {
  static from(underlyingStream: ResponseStream, prelude: Record<string, unknown>): ResponseStream {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    // JSON never contains a NUL byte, so the first NUL marks the end of the prelude.
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(DELIMITER_LEN));
    };
    return underlyingStream;
  }
}

/** A handler as the runtime calls a streaming one. */
export type StreamingHandler<E = unknown> = (
  event: E,
  responseStream: ResponseStream,
  context: Context,
) => unknown;

/** `awslambda.streamifyResponse`: mark the handler as streaming and return it unchanged. */
export function streamifyResponse<H extends object>(handler: H, options?: { highWaterMark?: number }): H {
  const marked = handler as unknown as Record<symbol, unknown>;
  marked[HANDLER_STREAMING] = STREAM_RESPONSE;
  if (typeof options?.highWaterMark === "number") marked[HANDLER_HIGHWATERMARK] = options.highWaterMark;
  return handler;
}

/** The global the runtime defines. */
export const awslambdaGlobal = { streamifyResponse, HttpResponseStream };

/**
 * Define `globalThis.awslambda` as the runtime does before it loads the handler module (so
 * `streamHandle`, which calls `awslambda.streamifyResponse` at import, works).
 * @returns a function restoring the previous value.
 */
export function installAwsLambda(): () => void {
  const g = globalThis as { awslambda?: unknown };
  const had = Object.hasOwn(g, "awslambda");
  const previous = g.awslambda;
  g.awslambda = awslambdaGlobal;
  return () => {
    if (had) g.awslambda = previous;
    else delete g.awslambda;
  };
}

/** True when the runtime would invoke `handler` in streaming mode. */
export function isStreamingHandler(handler: unknown): boolean {
  return (
    typeof handler === "function" &&
    (handler as unknown as Record<symbol, unknown>)[HANDLER_STREAMING] === STREAM_RESPONSE
  );
}

/** What a streaming invocation produced. */
export interface StreamingResult {
  contentType: string;
  /** The parsed prelude (`{ statusCode, headers, cookies }`) of an http-integration response. */
  prelude: { statusCode: number; headers: Record<string, string>; cookies?: string[] } | undefined;
  /** The body: everything after the 8 NUL bytes (or everything, without a prelude), as UTF-8. */
  body: string;
  /** Every recorded chunk, prelude and delimiter included. */
  chunks: RecordedChunk[];
  /** The chunks after the delimiter. */
  bodyChunks: RecordedChunk[];
  /** Whether the handler ended the response stream. */
  ended: boolean;
}

/** A streaming invocation in progress: watch `stream` while it runs; `done` settles with the result. */
export interface StreamingInvocation {
  stream: ResponseStream;
  done: Promise<StreamingResult>;
}

/**
 * Start a streaming invocation as the runtime does: call `handler(event, responseStream, context)`,
 * require a promise, wait for it and for the stream to end (at most `finishTimeoutMs` after the
 * handler settled), then split prelude, delimiter and body.
 * @throws (via `done`) when the handler is not streamified, returns no promise, rejects, never
 *   ends the stream, or the prelude/delimiter framing is broken.
 */
export function startStreaming<E>(
  handler: unknown,
  event: E,
  context: Context = lambdaContext(),
  options: { finishTimeoutMs?: number } = {},
): StreamingInvocation {
  const stream = new ResponseStream();
  const done = (async () => {
    if (!isStreamingHandler(handler)) {
      throw new Error("handler is not marked for response streaming (awslambda.streamifyResponse)");
    }
    const result = (handler as StreamingHandler<E>)(event, stream, context);
    if (!isPromise(result)) throw new Error("Streaming does not support non-async handlers.");
    await result;
    await waitForFinish(stream, options.finishTimeoutMs ?? 5000);
    return splitResponse(stream);
  })();
  return { stream, done };
}

/** Run a streamified handler to completion (see {@link startStreaming}). */
export function invokeStreaming<E>(
  handler: unknown,
  event: E,
  context?: Context,
  options?: { finishTimeoutMs?: number },
): Promise<StreamingResult> {
  return startStreaming(handler, event, context, options).done;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}

function waitForFinish(stream: ResponseStream, timeoutMs: number): Promise<void> {
  if (stream.writableFinished) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.off("finish", onFinish);
      reject(new Error("Response stream is not finished."));
    }, timeoutMs);
    const onFinish = () => {
      clearTimeout(timer);
      resolve();
    };
    stream.once("finish", onFinish);
  });
}

/**
 * Split what a stream received into prelude, delimiter and body, checking the framing of the
 * http-integration-response content type: the first chunk is the prelude JSON, the second exactly
 * 8 NUL bytes, and there is no NUL before the delimiter nor right after it.
 */
export function splitResponse(stream: ResponseStream): StreamingResult {
  const chunks = [...stream.chunks];
  const base = { contentType: stream.contentType, chunks, ended: stream.ended };
  if (stream.contentType !== HTTP_INTEGRATION_CONTENT_TYPE) {
    return { ...base, prelude: undefined, body: stream.bytes().toString("utf8"), bodyChunks: chunks };
  }
  const all = stream.bytes();
  const nul = all.indexOf(0);
  if (nul < 0) throw new Error("http-integration response without the 8-byte NUL delimiter");
  const delimiter = all.subarray(nul, nul + DELIMITER_LEN);
  if (delimiter.length !== DELIMITER_LEN || delimiter.some((b) => b !== 0)) {
    throw new Error(`expected ${DELIMITER_LEN} NUL bytes after the prelude at byte ${nul}`);
  }
  if (all.length > nul + DELIMITER_LEN && all[nul + DELIMITER_LEN] === 0) {
    throw new Error(`more than ${DELIMITER_LEN} NUL bytes after the prelude`);
  }
  const preludeText = all.subarray(0, nul).toString("utf8");
  // The runtime writes prelude and delimiter as the first two chunks, before the handler's own.
  if (chunks[0]?.data.toString("utf8") !== preludeText) throw new Error("the prelude is not the first chunk");
  const second = chunks[1]?.data;
  if (!second || second.length !== DELIMITER_LEN || second.some((b) => b !== 0)) {
    throw new Error("the NUL delimiter is not the second chunk");
  }
  const prelude = JSON.parse(preludeText) as StreamingResult["prelude"];
  return {
    ...base,
    prelude,
    body: all.subarray(nul + DELIMITER_LEN).toString("utf8"),
    bodyChunks: chunks.slice(2),
  };
}
