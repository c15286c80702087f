import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ErrorBody } from "../../packages/http/index.ts";
import type { LogFn } from "../../packages/observability/index.ts";

/**
 * Errors that happen before a request reaches a Hono app, in the one JSON error shape
 * (`{ error: { code, message, requestId } }`, docs/api.md) with `X-Request-Id` equal to the
 * body's `requestId`: Node's HTTP parser refusing the bytes (it answers with an empty body
 * by default), and @hono/node-server failing to build a Request (no Host, a malformed one).
 * Only the local stack serves over Node's HTTP server; on AWS, API Gateway and the Function
 * URL front end answer these themselves.
 */

/** Status, code and message for a parser error code of Node's llhttp (`HPE_*`, `ERR_HTTP_*`). */
export function parserErrorAnswer(code: string | undefined): {
  status: number;
  code: string;
  message: string;
} {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      // Node's limit: --max-http-header-size, 16 KiB by default (RFC 6585 §5).
      return { status: 431, code: "headers_too_large", message: "The request headers are too large." };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, code: "request_timeout", message: "The request took too long to arrive." };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
    case "HPE_INVALID_TRANSFER_ENCODING":
      // Both framings, a negative or a doubled length: request smuggling shapes (RFC 9112 §6.3).
      return {
        status: 400,
        code: "invalid_framing",
        message: "The request's Content-Length or Transfer-Encoding is invalid.",
      };
    default:
      return { status: 400, code: "malformed_request", message: "The request is not valid HTTP/1.1." };
  }
}

/** The raw HTTP/1.1 bytes of a JSON error response that closes the connection. */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const requestId = randomUUID();
  const body = JSON.stringify({ error: { code, message, requestId } } satisfies ErrorBody);
  return [
    `HTTP/1.1 ${status} ${statusText(status)}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    "X-Content-Type-Options: nosniff",
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/**
 * Handler for a Node HTTP server's `clientError` event: answers a parse error in the JSON
 * shape when the socket can still take it, then closes it. Never throws.
 */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A peer that reset the connection cannot read an answer; and on a keep-alive connection
  // whose previous response has started (an SSE stream), bytes written now would land inside
  // that response's body: close it instead, as Node's own handler does.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = parserErrorAnswer(err.code);
  socket.end(rawErrorResponse(answer.status, answer.code, answer.message));
}

/**
 * @hono/node-server's `errorHandler`: a Request that could not be built (no Host header, an
 * invalid one, a malformed target) is the client's mistake, 400 with a fixed message; anything
 * else is ours, 500 with no detail, logged through `log`.
 */
export function requestErrorHandler(log: LogFn): (err: unknown) => Response {
  return (err) => {
    const message = err instanceof Error ? err.message : String(err);
    const client = err instanceof Error && err.name === "RequestError";
    if (!client) log({ level: "error", msg: "request could not be handled", error: message });
    const answer = !client
      ? { status: 500, code: "internal_error", message: "Something went wrong on our side." }
      : /host/i.test(message)
        ? { status: 400, code: "invalid_host", message: "The request needs a valid Host header." }
        : { status: 400, code: "malformed_request", message: "The request target is not a valid URL path." };
    const requestId = randomUUID();
    const body: ErrorBody = { error: { code: answer.code, message: answer.message, requestId } };
    return new Response(JSON.stringify(body), {
      status: answer.status,
      headers: {
        "content-type": "application/json",
        "x-request-id": requestId,
        "x-content-type-options": "nosniff",
      },
    });
  };
}

/**
 * Handler for a Node HTTP server's `checkExpectation` event (a request with an `Expect`
 * header other than `100-continue`): 417 in the JSON shape; Node's own answer has no body.
 */
export function onUnmetExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const requestId = randomUUID();
  const body: ErrorBody = {
    error: { code: "expectation_failed", message: "Only `Expect: 100-continue` is supported.", requestId },
  };
  const text = JSON.stringify(body);
  res.writeHead(417, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
    "x-content-type-options": "nosniff",
    connection: "close",
  });
  res.end(text);
}

function statusText(status: number): string {
  return (
    { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" }[status] ?? "Error"
  );
}
