import type { MiddlewareHandler } from "hono";
import { isLoopback } from "../../packages/compose/index.ts";
import { errorResponse, HttpError } from "../../packages/http/index.ts";

/**
 * Middleware for a server bound to loopback: refuse (421 `misdirected_request`) any request
 * whose Host header is not a loopback name or address. A malicious page could otherwise point
 * its own domain at 127.0.0.1 (DNS rebinding) and read the development page or, with
 * AUTH=off, the runs.
 */
export function loopbackHostOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header("host") ?? "").replace(/:\d+$/, "");
    if (!isLoopback(host)) {
      return errorResponse(
        c,
        new HttpError(421, "misdirected_request", "This server answers loopback addresses only."),
      );
    }
    await next();
  };
}
