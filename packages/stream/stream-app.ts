import type { Hono } from "hono";
import { type AppEnv, baseApp, errorResponse, HttpError } from "../http/index.ts";
import { registerAgUi } from "./ag-ui-route.ts";
import { registerAiSdkChat } from "./ai-sdk-chat-route.ts";
import { registerAskStream } from "./ask-stream-route.ts";
import { registerChatStream } from "./chat-stream-route.ts";
import { registerPoll } from "./poll-route.ts";
import { registerRunStream } from "./run-stream-route.ts";
import { registerSolutionStream } from "./solution-stream-route.ts";
import { type StreamDeps, streamKit } from "./stream-kit.ts";
import { registerTestStream } from "./test-stream-route.ts";
import { uiMessageHeader } from "./ui-message-header.ts";

export { DEADLINE_MARGIN_MS, type StreamDeps, type StreamSettings } from "./stream-kit.ts";

/**
 * The stream (a Lambda Function URL in RESPONSE_STREAM mode → functions/stream.ts on AWS;
 * @hono/node-server locally). Routes (docs/api.md):
 * - GET /runs/{runId}/stream tails the run's log as SSE.
 *   - Needs the run's stream token (`?token=` or `Authorization: Bearer`) unless auth is off:
 *     missing, expired, tampered, another run's, wrong audience, `alg: none` → 401 before any byte.
 *   - Resumes after `Last-Event-ID` (header) or `?after=N`; malformed → 400 before any byte.
 *   - `?format=` picks a view of the log (stream-format.ts: stagecast, message, autogen, ag-ui,
 *     ui-message, k8s-solution, project-chat); `?types=stage.*,run.*` narrows the types sent.
 *   - Ends right after the terminal event; a resume at or past it gets 204 (EventSource stops).
 * - POST /ask-stream (the AutoGen streaming API, docs/origins.md): starts a run as the caller
 *   (bearer JWT) and streams it in that API's shape on the same response.
 * - GET /test-stream (the AutoGen streaming API's test route): a ~2 s synthetic run, nothing stored, no model, no auth.
 * - POST /get_solution_stream (the Kubernetes agent's API) and GET|POST
 *   /projects/{projectId}/chat-stream (the project chat's API): start a run as the caller and
 *   stream it in that API's shape (`k8s-solution`, `project-chat`); a reconnect with
 *   Last-Event-ID resumes that run instead of starting another.
 * - GET /runs/{runId}/poll: a JSON page of events after `after`, waiting at the live edge
 *   (long-poll), cacheable by a CDN (the run's watch token in the URL; docs/api.md).
 * - POST /ag-ui (AG-UI's RunAgentInput): starts a run and streams it as AG-UI events.
 * - POST /ai-sdk/chat and GET /ai-sdk/chat/{chatId}/stream (the AI SDK's `useChat`): start a run
 *   and stream it as a UI message stream; replay the chat's unfinished run, or 204.
 * Every stream: opens with `retry:`, heartbeats while silent, closes before `maxDurationMs` with a `reconnect` frame
 * (a Function URL invocation ends at the function timeout, at most 15 minutes), headers
 * text/event-stream, `Cache-Control: no-cache, no-transform`, `X-Accel-Buffering: no`.
 */
export function createStreamApp(deps: StreamDeps): Hono<AppEnv> {
  const kit = streamKit(deps);
  const app = baseApp(kit.log);
  app.use(uiMessageHeader()); // `?format=ui-message` answers carry the AI SDK's protocol header
  registerRunStream(app, kit);
  registerPoll(app, kit); // GET /runs/{runId}/poll: cacheable long-poll reads (docs/api.md)
  registerAskStream(app, kit);
  registerTestStream(app, kit);
  registerAgUi(app, kit);
  registerSolutionStream(app, kit);
  registerChatStream(app, kit);
  registerAiSdkChat(app, kit);
  // The stream is the whole app behind its Function URL: unknown paths get the one error shape.
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
  return app;
}
