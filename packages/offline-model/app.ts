import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { failureBody, KnobBoard, OfflineKnobsPatchSchema } from "./knobs.ts";
import { ChatRequestSchema, describeIssue, errorBody, normaliseMessages } from "./protocol.ts";
import { composeReply, type Reply } from "./reply.ts";
import { countTokens } from "./responder.ts";
import { UnknownToolChoiceError } from "./tool-calls.ts";
import { completionBody, newMeta, OFFLINE_MODEL_ID, render, streamPieces } from "./wire.ts";

/** Options of {@link createOfflineModelApp}. */
export interface OfflineModelOptions {
  /** Generation speed (tokens per second); 0 or less means as fast as possible. Default 30. */
  tokensPerSecond?: number;
  /** Serve the test routes under `/_offline/` (knobs, stats). Default true. */
  knobs?: boolean;
}

/**
 * Waits `ms` milliseconds unless `signal` aborts first. Resolves true when the wait completed,
 * false when the request was aborted (the client went away), so callers stop working for it.
 */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * An OpenAI-compatible chat-completions server (the subset the agent uses), deterministic and
 * network-free: the embedded stand-in for a language model.
 *
 * - `POST /v1/chat/completions`: messages (system/developer/user/assistant with tool_calls/tool),
 *   `response_format` (json_schema → JSON valid against the schema; json_object), `tools` and
 *   `tool_choice` (tool calls for arithmetic, earlier work, time questions), `max_tokens`,
 *   streaming (SSE chunks ending with `data: [DONE]`, tool calls in OpenAI's chunk format, a
 *   usage chunk with `stream_options.include_usage`) and non-streaming (waits as long as the
 *   tokens take). Replies are paced at the knobs' `tokensPerSecond`. 400 for a malformed request.
 * - `GET /v1/models`: the one model, {@link OFFLINE_MODEL_ID}.
 * - Test routes (unless `knobs: false`): `GET|POST|DELETE /_offline/knobs` (see OfflineKnobs;
 *   POST merges, DELETE resets, 400 for an invalid body) and `GET /_offline/stats`
 *   (`{ calls, active }`: chat-completion calls received and still being answered).
 */
export function createOfflineModelApp(options: OfflineModelOptions = {}): Hono {
  const board = new KnobBoard(Math.max(0, options.tokensPerSecond ?? 30));
  const stats = { calls: 0, active: 0 };
  const gapMs = () => (board.tokensPerSecond > 0 ? 1000 / board.tokensPerSecond : 0);
  const app = new Hono();

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: OFFLINE_MODEL_ID, object: "model", created: 0, owned_by: "stagecast" }],
    }),
  );

  if (options.knobs !== false) {
    app.get("/_offline/knobs", (c) => c.json(board.get()));
    app.post("/_offline/knobs", async (c) => {
      const parsed = OfflineKnobsPatchSchema.safeParse(await c.req.json().catch(() => undefined));
      if (!parsed.success) {
        return c.json(
          errorBody(
            `invalid knobs: ${describeIssue(parsed.error)}`,
            "invalid_request_error",
            "invalid_knobs",
          ),
          400,
        );
      }
      return c.json(board.merge(parsed.data));
    });
    app.delete("/_offline/knobs", (c) => c.json(board.reset()));
    app.get("/_offline/stats", (c) => c.json({ ...stats }));
  }

  app.post("/v1/chat/completions", async (c) => {
    stats.calls += 1;
    stats.active += 1;
    let streaming = false;
    try {
      const res = await answer(c, () => {
        streaming = true;
      });
      return res;
    } finally {
      if (!streaming) stats.active -= 1;
    }
  });

  async function answer(c: Context, startStreaming: () => void): Promise<Response> {
    const parsed = ChatRequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      const message = `invalid chat completion request: ${describeIssue(parsed.error)}`;
      return c.json(errorBody(message, "invalid_request_error", "invalid_request"), 400);
    }
    const req = parsed.data;
    const signal = c.req.raw.signal;
    const stall = board.takeStall();
    const failure = board.takeFailure();
    if (stall !== undefined && !(await pause(stall, signal))) {
      return c.json(errorBody("the client closed the request", "invalid_request_error", "aborted"), 400);
    }
    if (failure !== undefined) {
      if (failure === 429) c.header("retry-after", "0");
      return c.json(failureBody(failure), failure as 400);
    }
    if (req.stream && board.noStreaming) {
      return c.json(
        errorBody(
          "streaming is not supported by this endpoint",
          "invalid_request_error",
          "unsupported_value",
          "stream",
        ),
        400,
      );
    }
    const messages = normaliseMessages(req);
    let reply: Reply;
    try {
      reply = composeReply(req, messages, board);
    } catch (err) {
      if (!(err instanceof UnknownToolChoiceError)) throw err;
      return c.json(errorBody(err.message, "invalid_request_error", "invalid_value", "tool_choice"), 400);
    }
    const limit = req.max_completion_tokens ?? req.max_tokens ?? Number.POSITIVE_INFINITY;
    const rendered = render(reply, limit);
    const promptTokens = countTokens(messages);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: rendered.count,
      total_tokens: promptTokens + rendered.count,
    };
    const meta = newMeta();
    if (!req.stream) {
      if (!(await pause(gapMs() * rendered.count, signal))) {
        return c.json(errorBody("the client closed the request", "invalid_request_error", "aborted"), 400);
      }
      return c.json(completionBody(meta, rendered, usage));
    }
    startStreaming();
    return streamSSE(c, async (stream) => {
      try {
        let due = Date.now();
        for (const piece of streamPieces(meta, rendered, usage, req.stream_options?.include_usage === true)) {
          if (piece.paced) {
            due += gapMs();
            const wait = due - Date.now();
            if (wait > 0 && !(await pause(wait, signal))) return;
          }
          if (stream.aborted) return;
          await stream.writeSSE({ data: piece.data });
        }
      } finally {
        stats.active -= 1;
      }
    });
  }
  return app;
}
