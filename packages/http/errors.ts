import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { LogFn } from "../observability/index.ts";
import { StoreUnavailableError } from "../store/index.ts";
import type { AppEnv } from "./app-env.ts";

/**
 * An error a handler throws to answer a client with a given status and safe code/message.
 * Every error response has the one shape `{ error: { code, message, requestId } }`.
 */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

/**
 * Build the error response for `err`: its own status for HttpError, a generic 500 otherwise
 * (details go to logs only). The body's `requestId` is the request id middleware's when it
 * ran, a new one otherwise (a refusal in a middleware before it, such as the loopback Host
 * check), and `X-Request-Id` always equals it.
 */
export function errorResponse(c: Context<AppEnv>, err: HttpError): Response {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  const body: ErrorBody = { error: { code: err.code, message: err.message, requestId } };
  return c.json(body, err.status, { ...err.headers, "X-Request-Id": requestId });
}

/**
 * The one error handler of every app: HttpError as it is; a store outage as 503
 * `store_unavailable` with Retry-After (the client may retry; nothing was half-written that a
 * retry would duplicate, because run ids are new per request); anything else as 500
 * `internal_error` with no detail. Details go to `log` only.
 */
export function onAppError(log: LogFn) {
  return (err: Error, c: Context<AppEnv>): Response => {
    if (err instanceof HttpError) return errorResponse(c, err);
    if (err instanceof StoreUnavailableError) {
      log({ level: "warn", msg: "store unavailable", error: err.message });
      return errorResponse(
        c,
        new HttpError(503, "store_unavailable", "The progress store is unavailable. Try again shortly.", {
          "Retry-After": "2",
        }),
      );
    }
    log({ level: "error", msg: "unhandled error", error: String(err), stack: err.stack });
    return errorResponse(c, new HttpError(500, "internal_error", "Something went wrong on our side."));
  };
}
