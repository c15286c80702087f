import type { Hono } from "hono";
import { type AppEnv, baseApp, errorResponse, HttpError } from "../http/index.ts";
import { registerAskStream } from "./ask-stream-route.ts";
import { registerRunStream } from "./run-stream-route.ts";
import { type StreamDeps, streamKit } from "./stream-kit.ts";
import { registerTestStream } from "./test-stream-route.ts";

export { DEADLINE_MARGIN_MS, type StreamDeps, type StreamSettings } from "./stream-kit.ts";

/**
 * The stream (a Lambda Function URL in RESPONSE_STREAM mode → functions/stream.ts on AWS;
 * @hono/node-server locally). Routes (docs/api.md):
 * - GET /runs/{runId}/stream tails the run's log as SSE.
 *   - Needs the run's stream token (`?token=` or `Authorization: Bearer`) unless auth is off:
 *     missing, expired, tampered, another run's, wrong audience, `alg: none` → 401 before any byte.
 *   - Resumes after `Last-Event-ID` (header) or `?after=N`; malformed → 400 before any byte.
 *   - `?format=autogen` writes the AutoGen streaming API's shape; `?types=stage.*,run.*`
 *     narrows the types sent.
 *   - Ends right after the terminal event; a resume at or past it gets 204 (EventSource stops).
 * - POST /ask-stream (the AutoGen streaming API, docs/origins.md): starts a run as the caller
 *   (bearer JWT) and streams it in that API's shape on the same response.
 * - GET /test-stream (the AutoGen streaming API's test route): a ~2 s synthetic run, nothing stored, no model, no auth.
 * Every stream: opens with `retry:`, heartbeats while silent, closes before `maxDurationMs` with a `reconnect` frame
 * (a Function URL invocation ends at the function timeout, at most 15 minutes), headers
 * text/event-stream, `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`.
 */
export function createStreamApp(deps: StreamDeps): Hono<AppEnv> {
  const kit = streamKit(deps);
  const app = baseApp(kit.log);
  registerRunStream(app, kit);
  registerAskStream(app, kit);
  registerTestStream(app, kit);
  // The stream is the whole app behind its Function URL: unknown paths get the one error shape.
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
  return app;
}
