import { type Context, Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { cutConnection, dropBeforeAnswer, failingAtEnd, hasSocket } from "./connection-reset.ts";
import { composeReply, type ModelReply, type TokenizedReply, tokenizeReply } from "./model-reply.ts";
import {
  type CompletionMeta,
  type CompletionUsage,
  completionObject,
  newCompletionMeta,
  OFFLINE_MODEL_ID,
  ssePayloads,
} from "./openai-completion.ts";
import {
  type ChatMessage,
  type ChatRequest,
  ChatRequestSchema,
  describeIssue,
  errorBody,
  normaliseMessages,
} from "./protocol.ts";
import { countTokens } from "./responder.ts";
import {
  simulatedFailureBody,
  TEST_CONTROLS_PATH,
  TestControlState,
  TestControlsPatchSchema,
} from "./test-controls.ts";
import { UnknownToolChoiceError } from "./tool-calls.ts";

/** Options of {@link createOfflineModelApp}. */
export interface OfflineModelOptions {
  /** Generation speed (tokens per second); 0 or less means as fast as possible. Default 30. */
  tokensPerSecond?: number;
  /**
   * Serve the test routes under `/_offline/` (the test controls, see test-controls.ts, and call
   * stats). Default false: only tests and the benchmark turn them on
   * (OFFLINE_MODEL_TEST_CONTROLS=true), so nothing else can make the model fail or stall.
   */
  testControls?: boolean;
}

/** Chat-completion calls received (`calls`) and still being answered (`active`): GET /_offline/stats. */
interface CallStats {
  calls: number;
  active: number;
}

/**
 * One chat-completion call, active until answered: `end` is called once, when the handler
 * returns or, for a streamed answer (`streaming`), when its stream ends.
 */
interface CallActivity {
  streaming: boolean;
  end(): void;
}

/** What the test controls do to one call, taken (each consuming a unit) as the call arrives. */
interface TakenControls {
  /** Wait this long (ms) before answering. */
  stall: number | undefined;
  /** Answer this HTTP status with a simulated error. */
  failure: number | undefined;
  /** Cut the connection after this many generated tokens. */
  drop: number | undefined;
}

/** A reply ready to send, whole or streamed. */
interface Completion {
  /** The reply cut into tokens (under `max_tokens`). */
  tokens: TokenizedReply;
  usage: CompletionUsage;
  meta: CompletionMeta;
  /** A streamed answer ends with a usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
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

/** The wait between two generated tokens (ms) at the current pace; 0 when unpaced. */
const tokenGapMs = (controls: TestControlState) =>
  controls.tokensPerSecond > 0 ? 1000 / controls.tokensPerSecond : 0;

/** The 400 for a request whose client went away while the model waited. */
const aborted = (c: Context) =>
  c.json(errorBody("the client closed the request", "invalid_request_error", "aborted"), 400);

/**
 * An OpenAI-compatible chat-completions server (the subset the agent uses), deterministic and
 * network-free: the embedded stand-in for a language model.
 *
 * - `POST /v1/chat/completions`: messages (system/developer/user/assistant with tool_calls/tool),
 *   `response_format` (json_schema → JSON valid against the schema; json_object), `tools` and
 *   `tool_choice` (tool calls for arithmetic, earlier work, time questions, and any other
 *   offered tool the request's words match, with arguments built from its schema), `max_tokens`,
 *   streaming (SSE chunks ending with `data: [DONE]`, tool calls in OpenAI's chunk format, a
 *   usage chunk with `stream_options.include_usage`) and non-streaming (waits as long as the
 *   tokens take). Replies are paced at the test controls' `tokensPerSecond`. 400 for a malformed
 *   request.
 * - `GET /v1/models`: the one model, {@link OFFLINE_MODEL_ID}.
 * - Test routes (only with `testControls: true`): `GET|POST|DELETE /_offline/knobs` (see
 *   TestControls: failures, stalls, connection resets mid-answer, pace…; POST merges, DELETE
 *   resets, 400 for an invalid body, 415 for a body that is not JSON) and `GET /_offline/stats`
 *   (`{ calls, active }`: chat-completion calls received and still being answered).
 */
export function createOfflineModelApp(options: OfflineModelOptions = {}): Hono {
  const controls = new TestControlState(Math.max(0, options.tokensPerSecond ?? 30));
  const stats: CallStats = { calls: 0, active: 0 };
  const app = new Hono();

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: OFFLINE_MODEL_ID, object: "model", created: 0, owned_by: "stagecast" }],
    }),
  );
  if (options.testControls === true) serveTestControls(app, controls, stats);
  app.post("/v1/chat/completions", async (c) => {
    stats.calls += 1;
    stats.active += 1;
    const call: CallActivity = {
      streaming: false,
      end: () => {
        stats.active -= 1;
      },
    };
    try {
      return await answer(c, controls, call);
    } finally {
      if (!call.streaming) call.end();
    }
  });
  return app;
}

/** Adds the test routes: the test controls at {@link TEST_CONTROLS_PATH} and `GET /_offline/stats`. */
function serveTestControls(app: Hono, controls: TestControlState, stats: CallStats): void {
  app.get(TEST_CONTROLS_PATH, (c) => c.json(controls.get()));
  app.post(TEST_CONTROLS_PATH, (c) => patchTestControls(c, controls));
  app.delete(TEST_CONTROLS_PATH, (c) => c.json(controls.reset()));
  app.get("/_offline/stats", (c) => c.json({ ...stats }));
}

/**
 * POST of the test controls: merges a JSON patch and answers the result; 415 unless the body is
 * `application/json`, 400 for an invalid patch (nothing changes then).
 */
async function patchTestControls(c: Context, controls: TestControlState): Promise<Response> {
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
  const parsed = TestControlsPatchSchema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) {
    return c.json(
      errorBody(`invalid knobs: ${describeIssue(parsed.error)}`, "invalid_request_error", "invalid_knobs"),
      400,
    );
  }
  return c.json(controls.merge(parsed.data));
}

/**
 * Answers one chat-completion call: parse the request (400 when malformed), take the test
 * controls for it, refuse it when they say so, compose and tokenize the reply, then send it
 * whole or streamed. Sets `call.streaming` when the stream takes over ending the call.
 */
async function answer(c: Context, controls: TestControlState, call: CallActivity): Promise<Response> {
  const parsed = ChatRequestSchema.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) {
    const message = `invalid chat completion request: ${describeIssue(parsed.error)}`;
    return c.json(errorBody(message, "invalid_request_error", "invalid_request"), 400);
  }
  const req = parsed.data;
  const taken = takeControls(controls, Boolean(req.stream));
  const refusal = await refusalBeforeReply(c, req, taken, controls);
  if (refusal) return refusal;
  const messages = normaliseMessages(req);
  const reply = composeOrRefuse(c, req, messages, controls);
  if (reply instanceof Response) return reply;
  const completion = prepareCompletion(req, messages, reply);
  if (!req.stream) return answerWhole(c, completion, taken.drop, controls);
  call.streaming = true;
  return answerStreaming(c, completion, taken.drop, controls, call);
}

/**
 * Takes what the test controls do to this call, all at once as it arrives (so an error answered
 * first, such as failNext or noStreaming, still uses a dropNext unit).
 */
function takeControls(controls: TestControlState, streaming: boolean): TakenControls {
  const stall = controls.takeStall();
  const failure = controls.takeFailure();
  const drop = controls.takeDrop(streaming);
  return { stall, failure, drop };
}

/**
 * The error answer the test controls put before any reply, or undefined to go on: after the
 * stall (400 `aborted` when the client leaves during it), the simulated failure (429 with
 * `retry-after: 0`), then 400 for `stream: true` when streaming is refused.
 */
async function refusalBeforeReply(
  c: Context,
  req: ChatRequest,
  taken: TakenControls,
  controls: TestControlState,
): Promise<Response | undefined> {
  if (taken.stall !== undefined && !(await pause(taken.stall, c.req.raw.signal))) return aborted(c);
  if (taken.failure !== undefined) {
    if (taken.failure === 429) c.header("retry-after", "0");
    return c.json(simulatedFailureBody(taken.failure), taken.failure as 400);
  }
  if (req.stream && controls.noStreaming) {
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
  return undefined;
}

/** The reply to the request, or a 400 when its tool_choice names a function that is not offered. */
function composeOrRefuse(
  c: Context,
  req: ChatRequest,
  messages: readonly ChatMessage[],
  controls: TestControlState,
): ModelReply | Response {
  try {
    return composeReply(req, messages, controls);
  } catch (err) {
    if (!(err instanceof UnknownToolChoiceError)) throw err;
    return c.json(errorBody(err.message, "invalid_request_error", "invalid_value", "tool_choice"), 400);
  }
}

/** The reply cut at the request's `max_completion_tokens` (or `max_tokens`), with its usage and id. */
function prepareCompletion(
  req: ChatRequest,
  messages: readonly ChatMessage[],
  reply: ModelReply,
): Completion {
  const limit = req.max_completion_tokens ?? req.max_tokens ?? Number.POSITIVE_INFINITY;
  const tokens = tokenizeReply(reply, limit);
  const promptTokens = countTokens(messages);
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: tokens.count,
    total_tokens: promptTokens + tokens.count,
  };
  const includeUsage = req.stream_options?.include_usage === true;
  return { tokens, usage, meta: newCompletionMeta(), includeUsage };
}

/**
 * The non-streaming answer: the `chat.completion` object after as long as its tokens take at the
 * current pace (400 `aborted` when the client leaves first), or a dropped connection.
 */
async function answerWhole(
  c: Context,
  completion: Completion,
  drop: number | undefined,
  controls: TestControlState,
): Promise<Response> {
  if (drop !== undefined) return dropBeforeAnswer(c);
  if (!(await pause(tokenGapMs(controls) * completion.tokens.count, c.req.raw.signal))) return aborted(c);
  return c.json(completionObject(completion.meta, completion.tokens, completion.usage));
}

/**
 * The streamed answer (SSE): its payloads paced at the current pace, the connection cut at the
 * drop point when one is set (in-process, where no socket can be cut, the body fails there
 * instead). Ends `call` when the stream ends.
 */
function answerStreaming(
  c: Context,
  completion: Completion,
  drop: number | undefined,
  controls: TestControlState,
  call: CallActivity,
): Response {
  let dropped = false;
  const res = streamSSE(c, async (stream) => {
    try {
      await writePaced(c, stream, completion, drop, controls, () => {
        dropped = true;
      });
    } finally {
      call.end();
    }
  });
  if (drop === undefined || hasSocket(c) || !res.body) return res;
  return new Response(
    failingAtEnd(res.body, () => dropped),
    res,
  );
}

/**
 * Writes the completion's SSE payloads, each token's payload when it is due at the current pace
 * (read before each token, so a pace change applies at once). Stops when the client leaves, or
 * at the drop point: after the role chunk and `drop` tokens (before the finish chunk at the
 * latest), where it calls `onDrop` and cuts the connection.
 */
async function writePaced(
  c: Context,
  stream: SSEStreamingApi,
  completion: Completion,
  drop: number | undefined,
  controls: TestControlState,
  onDrop: () => void,
): Promise<void> {
  const { meta, tokens, usage, includeUsage } = completion;
  let due = Date.now();
  let sent = 0;
  let first = true;
  for (const piece of ssePayloads(meta, tokens, usage, includeUsage)) {
    // The role chunk goes out first; the cut comes before token `drop + 1` or the finish chunk.
    if (drop !== undefined && !first && (!piece.paced || sent >= drop)) {
      onDrop();
      await cutConnection(c);
      return;
    }
    first = false;
    if (piece.paced) {
      sent += 1;
      due += tokenGapMs(controls);
      const wait = due - Date.now();
      if (wait > 0 && !(await pause(wait, c.req.raw.signal))) return;
    }
    if (stream.aborted) return;
    await stream.writeSSE({ data: piece.data });
  }
}
