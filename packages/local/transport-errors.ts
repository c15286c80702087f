import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { ErrorBody } from "../http/errors.ts";

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
  // A peer that reset the connection cannot read an answer.
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const answer = parserErrorAnswer(err.code);
  socket.end(rawErrorResponse(answer.status, answer.code, answer.message));
}

/**
 * @hono/node-server's `errorHandler`: a Request that could not be built (no Host header, an
 * invalid one, a malformed target) is the client's mistake, 400; anything else is ours, 500
 * with no detail.
 */
export function onRequestError(err: unknown): Response {
  const requestError = err instanceof Error && err.name === "RequestError";
  const status = requestError ? 400 : 500;
  const code = requestError
    ? /host/i.test(err.message)
      ? "invalid_host"
      : "malformed_request"
    : "internal_error";
  const message = requestError ? `${err.message}.` : "Something went wrong on our side.";
  const requestId = randomUUID();
  return new Response(JSON.stringify({ error: { code, message, requestId } } satisfies ErrorBody), {
    status,
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      "x-content-type-options": "nosniff",
    },
  });
}

function statusText(status: number): string {
  return (
    { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" }[status] ?? "Error"
  );
}
