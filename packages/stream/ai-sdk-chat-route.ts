import type { Context, Hono } from "hono";
import { type AppEnv, authenticate, HttpError, limitBody, principalOf } from "../http/index.ts";
import { ENDED_STATUSES, isOwnedBy, type RunView } from "../store/index.ts";
import { ChatIdSchema, chatRunRequest } from "./ai-sdk-chat-request.ts";
import { readJsonObject, startAsCaller } from "./start-as-caller.ts";
import type { StreamKit } from "./stream-kit.ts";
import { UI_MESSAGE_FORMAT, UI_MESSAGE_STREAM_HEADER } from "./ui-message-format.ts";

/**
 * Largest chat request body (bytes): `useChat` sends the whole conversation with every message
 * (tool outputs and data parts included), so POST /runs's 64 KiB would refuse a long chat.
 * The Function URL accepts 6 MB; 1 MiB keeps a bound well inside it.
 */
export const MAX_CHAT_BODY_BYTES = 1024 * 1024;

/**
 * The routes `useChat` reaches through `DefaultChatTransport({ api: <stream host>/ai-sdk/chat })`
 * with `resume: true` (docs/api.md §10):
 * - POST /ai-sdk/chat: starts a run (the last user message's text is the question, the chat
 *   id its conversationId) as the caller and streams it from seq 1 in the UI message format
 *   (`x-vercel-ai-ui-message-stream: v1`, `X-Run-Id`), and records it as the chat's newest
 *   run. 404 when this host does not start runs; 413 over {@link MAX_CHAT_BODY_BYTES}; 415, 400
 *   (`invalid_json`, `invalid_request` naming the field, see chatRunRequest), 422, 429 and 503
 *   as POST /runs answers them (startAsCaller).
 * - GET /ai-sdk/chat/{chatId}/stream (the transport's default reconnect URL, ai 7.x
 *   src/ui/http-chat-transport.ts): the chat's newest run replayed from seq 1 while it has not
 *   ended, 204 otherwise (the transport then does not resume). 400 `invalid_chat_id`.
 * Both need the caller's JWT (auth on), as POST /ask-stream does; a chat is its owner's alone.
 */
export function registerAiSdkChat(app: Hono<AppEnv>, kit: StreamKit): void {
  const { deps, flushOf, log } = kit;
  const { store } = deps;
  const limit = limitBody(MAX_CHAT_BODY_BYTES);
  app.post("/ai-sdk/chat", authenticate(deps.auth), limit, async (c) => {
    if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
    const flush = flushOf(c);
    const input = chatRunRequest(await readJsonObject(c));
    const runId = await startAsCaller(c, kit, input);
    // The resume route's pointer. A failed write is logged, not answered: the run has started,
    // and an error would make the client start it again; only its resume is lost.
    await store.conversationRuns
      .point(principalOf(c), input.conversationId ?? "", runId)
      .catch((err: unknown) => {
        log({ level: "warn", msg: "could not record the chat's newest run", runId, error: String(err) });
      });
    return replay(c, kit, runId, await store.runs.view(runId), flush);
  });
  app.get("/ai-sdk/chat/:chatId/stream", authenticate(deps.auth), async (c) => {
    const chatId = ChatIdSchema.safeParse(c.req.param("chatId"));
    if (!chatId.success) {
      throw new HttpError(
        400,
        "invalid_chat_id",
        "The chat id must be 1-64 characters of A-Z a-z 0-9 _ . -.",
      );
    }
    const flush = flushOf(c);
    const owner = principalOf(c);
    const runId = await store.conversationRuns.newest(owner, chatId.data);
    const run = runId === undefined ? undefined : await store.runs.view(runId);
    // Nothing to resume: no run recorded, expired, someone else's, or already ended.
    if (!runId || !run || !isOwnedBy(run, owner) || ENDED_STATUSES.has(run.status)) return c.body(null, 204);
    return replay(c, kit, runId, run, flush);
  });
}

/** The run's whole log, then its live tail, in the UI message format, with the protocol's header and `X-Run-Id`. */
function replay(
  c: Context<AppEnv>,
  kit: StreamKit,
  runId: string,
  run: RunView | undefined,
  flush: ReturnType<StreamKit["flushOf"]>,
): Response {
  c.header(UI_MESSAGE_STREAM_HEADER.name, UI_MESSAGE_STREAM_HEADER.value);
  const res = kit.streamRun(c, runId, run, { after: 0, format: UI_MESSAGE_FORMAT, flush });
  res.headers.set(UI_MESSAGE_STREAM_HEADER.name, UI_MESSAGE_STREAM_HEADER.value);
  return res;
}
