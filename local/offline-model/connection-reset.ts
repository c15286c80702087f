/**
 * Simulated connection resets (the `dropNext` test control): the client's TCP connection is cut
 * abruptly, like a provider's connection dropping mid-answer. Through @hono/node-server the
 * socket is reset for real; called in-process (no socket), the response body fails instead.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";

/** The Node bindings @hono/node-server passes as `c.env` (absent when the app is called in-process). */
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/** The message of a simulated connection reset (the `dropNext` control), where no socket can carry it. */
const DROP_MESSAGE = "connection reset (simulated by the offline model's dropNext knob)";

/** Whether the request came through @hono/node-server with a socket that can be cut. */
export function hasSocket(c: Context): boolean {
  return Boolean((c.env as NodeBindings | undefined)?.incoming?.socket);
}

/**
 * Destroys the client's TCP connection abruptly (a reset, like a provider's connection dropping)
 * once what the response already wrote has left for the socket, so the client receives exactly
 * that and then loses the connection. False when the request has no Node socket (the app was
 * called in-process, not through @hono/node-server).
 */
export async function cutConnection(c: Context): Promise<boolean> {
  const env = c.env as NodeBindings | undefined;
  const socket = env?.incoming?.socket;
  if (!socket) return false;
  // Written chunks reach the ServerResponse within microtasks and the socket on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 1000 && !socket.destroyed; i++) {
    if ((env?.outgoing?.writableLength ?? 0) === 0 && socket.writableLength === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (socket.destroyed) return true;
  // resetAndDestroy sends a TCP RST (the client reads ECONNRESET); HTTP/2's socket proxy lacks it.
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
  return true;
}

/**
 * The answer to a non-streaming call whose connection must drop before anything is sent: the
 * connection is cut (an empty response that never reaches the client) or, in-process, a 200
 * whose JSON body fails, the nearest thing to a reset without a socket.
 */
export async function dropBeforeAnswer(c: Context): Promise<Response> {
  if (await cutConnection(c)) return c.body(null);
  return c.newResponse(
    new ReadableStream({ start: (controller) => controller.error(new Error(DROP_MESSAGE)) }),
    200,
    { "content-type": "application/json" },
  );
}

/**
 * `body`, except that it fails with a simulated connection reset instead of ending when
 * `dropped()` says the reply was cut (the `dropNext` control in-process, where no socket can be cut).
 */
export function failingAtEnd(
  body: ReadableStream<Uint8Array>,
  dropped: () => boolean,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!done) controller.enqueue(value);
      else if (dropped()) controller.error(new Error(DROP_MESSAGE));
      else controller.close();
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
