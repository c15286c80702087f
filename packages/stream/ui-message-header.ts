import type { MiddlewareHandler } from "hono";
import { UI_MESSAGE_FORMAT_NAME, UI_MESSAGE_STREAM_HEADER } from "./ui-message-format.ts";

/**
 * Middleware: a stream answered with `?format=ui-message` (GET /runs/{runId}/stream, POST
 * /ask-stream, GET /test-stream) carries `x-vercel-ai-ui-message-stream: v1`, the header the AI
 * SDK's protocol asks of a custom backend (docs/04-ai-sdk-ui/50-stream-protocol.mdx). Set after
 * the route answered, and only on an event stream: an error or a 204 is no UI message stream.
 * The chat routes set it themselves (they take no `format`).
 */
export function uiMessageHeader(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (
      c.req.query("format") === UI_MESSAGE_FORMAT_NAME &&
      c.res.headers.get("content-type")?.startsWith("text/event-stream")
    ) {
      c.res.headers.set(UI_MESSAGE_STREAM_HEADER.name, UI_MESSAGE_STREAM_HEADER.value);
    }
  };
}
