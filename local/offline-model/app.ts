import type { IncomingMessage, ServerResponse } from "node:http";
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
  /**
   * Serve the test routes under `/_offline/` (knobs, stats). Default false: only tests turn
   * them on (OFFLINE_MODEL_KNOBS=true), so nothing else can make the model fail or stall.
   */
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

/** The Node bindings @hono/node-server passes as `c.env` (absent when the app is called in-process). */
interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/** The message of a simulated connection reset (the `dropNext` knob), where no socket can carry it. */
const DROP_MESSAGE = "connection reset (simulated by the offline model's dropNext knob)";

/**
 * Destroys the client's TCP connection abruptly (a reset, like a provider's connection dropping)
 * once what the response already wrote has left for the socket, so the client receives exactly
 * that and then loses the connection. False when the request has no Node socket (the app was
 * called in-process, not through @hono/node-server).
 */
async function cutConnection(c: Context): Promise<boolean> {
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
 * `body`, except that it fails with a simulated connection reset instead of ending when
 * `dropped()` says the reply was cut (the `dropNext` knob in-process, where no socket can be cut).
 */
function failingAtEnd(body: ReadableStream<Uint8Array>, dropped: () => boolean): ReadableStream<Uint8Array> {
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
 * - Test routes (only with `knobs: true`): `GET|POST|DELETE /_offline/knobs` (see OfflineKnobs:
 *   failures, stalls, connection resets mid-answer, pace…; POST merges, DELETE resets, 400 for an
 *   invalid body) and `GET /_offline/stats`
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

  if (options.knobs === true) {
    app.get("/_offline/knobs", (c) => c.json(board.get()));
    app.post("/_offline/knobs", async (c) => {
      // JSON only: a cross-site form or `text/plain` fetch (a CORS "simple request", sent
      // without a preflight) must not change the model.
      if (!/^application\/json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
        return c.json(
          errorBody(
            "knobs take Content-Type: application/json",
            "invalid_request_error",
            "unsupported_media_type",
          ),
          415,
        );
      }
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
    const drop = board.takeDrop(Boolean(req.stream));
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
    if (!req.stream && drop !== undefined) {
      if (await cutConnection(c)) return c.body(null);
      // In-process: a 200 whose body fails, the nearest thing to a reset without a socket.
      return c.newResponse(
        new ReadableStream({ start: (controller) => controller.error(new Error(DROP_MESSAGE)) }),
        200,
        { "content-type": "application/json" },
      );
    }
    if (!req.stream) {
      if (!(await pause(gapMs() * rendered.count, signal))) {
        return c.json(errorBody("the client closed the request", "invalid_request_error", "aborted"), 400);
      }
      return c.json(completionBody(meta, rendered, usage));
    }
    startStreaming();
    let dropped = false;
    const res = streamSSE(c, async (stream) => {
      try {
        let due = Date.now();
        let sent = 0;
        let first = true;
        for (const piece of streamPieces(meta, rendered, usage, req.stream_options?.include_usage === true)) {
          // The role chunk goes out first; the cut comes before token `drop + 1` or the finish chunk.
          if (drop !== undefined && !first && (!piece.paced || sent >= drop)) {
            dropped = true;
            await cutConnection(c);
            return;
          }
          first = false;
          if (piece.paced) {
            sent += 1;
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
    const env = c.env as NodeBindings | undefined;
    if (drop === undefined || env?.incoming?.socket || !res.body) return res;
    // In-process (no socket to cut): the body fails where the connection would have dropped.
    return new Response(
      failingAtEnd(res.body, () => dropped),
      res,
    );
  }
  return app;
}
