/**
 * Request-controlled test behaviours of the offline model: failures, stalls, connection resets
 * mid-answer, the pace, refused streaming, bad plans and schema-breaking replies, switched on
 * over HTTP so tests can reach failure paths through real requests. Served only when the app is
 * created with `testControls: true` (the OFFLINE_MODEL_TEST_CONTROLS setting, which only tests
 * and the benchmark turn on), at {@link TEST_CONTROLS_PATH}.
 */

import { z } from "zod";
import { type ErrorBody, errorBody } from "./protocol.ts";

/**
 * The route of the test controls: GET reads them, POST merges a patch, DELETE resets them. Its
 * HTTP name (`knobs`) predates the code's name and is kept for its clients (tests, the benchmark).
 */
export const TEST_CONTROLS_PATH = "/_offline/knobs";

/**
 * The offline model's test controls as a whole, so failure paths can be tested through real
 * HTTP. Counters count chat-completion calls and go down as they are used.
 */
export const TestControlsSchema = z
  .object({
    /** The next `count` chat-completion calls answer HTTP `status` (400–599) with an OpenAI-style error. */
    failNext: z.object({ count: z.int().min(0), status: z.int().min(400).max(599) }).strict(),
    /** The next `count` calls wait `ms` milliseconds (≤ 10 min) before answering; an aborted request ends the wait. */
    stallNext: z.object({ count: z.int().min(0), ms: z.int().min(0).max(600_000) }).strict(),
    /**
     * The next `count` calls lose their connection mid-answer, like a provider's connection reset:
     * a streamed reply sends its role chunk and `afterTokens` generated tokens (content tokens, or
     * tool-call pieces; at most the reply's own), paced as usual, then the TCP connection is
     * destroyed: no finish chunk, no `[DONE]`, no end of the chunked response. A non-streaming call
     * is cut before anything is sent. An error answered first (failNext, noStreaming, a malformed
     * request) takes precedence; a malformed request does not use a unit.
     */
    dropNext: z
      .object({ count: z.int().min(0), afterTokens: z.int().min(0), streamingOnly: z.boolean().optional() })
      .strict(),
    /** Generation pace in tokens per second, read while streaming (0: unpaced). */
    tokensPerSecond: z.number().min(0).max(1_000_000),
    /** Reject `stream: true` with 400, like endpoints that cannot stream. */
    noStreaming: z.boolean(),
    /** The next `n` plan requests (json_schema named "plan") use the unknown tool `web_search`. */
    badPlanNext: z.int().min(0),
    /** The next `n` json_schema replies are `{}`: valid JSON that breaks the schema (tests the repair path). */
    invalidJsonNext: z.int().min(0),
  })
  .strict();
/** The test controls as a GET of {@link TEST_CONTROLS_PATH} returns them. */
export type TestControls = z.infer<typeof TestControlsSchema>;

/**
 * The body of a POST to {@link TEST_CONTROLS_PATH}: any subset of the controls, shallow-merged
 * into the current ones (each given control replaces the old one).
 */
export const TestControlsPatchSchema = TestControlsSchema.partial();
/** A test-controls patch (see {@link TestControlsPatchSchema}). */
export type TestControlsPatch = z.infer<typeof TestControlsPatchSchema>;

/**
 * The live test controls of one offline model server. `take*` methods consume one unit of a
 * counter and say whether (or how) the current call is affected.
 */
export class TestControlState {
  readonly #defaults: TestControls;
  #current: TestControls;

  /** @param tokensPerSecond the pace a reset returns to (the server's configured pace). */
  constructor(tokensPerSecond: number) {
    this.#defaults = {
      failNext: { count: 0, status: 500 },
      stallNext: { count: 0, ms: 0 },
      dropNext: { count: 0, afterTokens: 0 },
      tokensPerSecond,
      noStreaming: false,
      badPlanNext: 0,
      invalidJsonNext: 0,
    };
    this.#current = structuredClone(this.#defaults);
  }

  /** A copy of the current controls. */
  get(): TestControls {
    return structuredClone(this.#current);
  }

  /** Merge a validated patch into the controls (each given control replaces the old one); returns the result. */
  merge(patch: TestControlsPatch): TestControls {
    this.#current = { ...this.#current, ...structuredClone(patch) };
    return this.get();
  }

  /** Back to the defaults (no failures, stalls or drops, the configured pace); returns them. */
  reset(): TestControls {
    this.#current = structuredClone(this.#defaults);
    return this.get();
  }

  /** The current pace (tokens per second; 0: unpaced). */
  get tokensPerSecond(): number {
    return this.#current.tokensPerSecond;
  }

  /** Whether streaming requests are refused. */
  get noStreaming(): boolean {
    return this.#current.noStreaming;
  }

  /** The HTTP status this call must fail with (consuming one `failNext`), or undefined. */
  takeFailure(): number | undefined {
    const f = this.#current.failNext;
    if (f.count <= 0) return undefined;
    f.count -= 1;
    return f.status;
  }

  /** How long this call must stall in ms (consuming one `stallNext`), or undefined. */
  takeStall(): number | undefined {
    const s = this.#current.stallNext;
    if (s.count <= 0) return undefined;
    s.count -= 1;
    return s.ms;
  }

  /**
   * After how many generated tokens this call's connection must be cut (consuming one
   * `dropNext`; with `streamingOnly`, only streaming calls consume it), or undefined when it is
   * answered normally.
   */
  takeDrop(streaming: boolean): number | undefined {
    const d = this.#current.dropNext;
    // streamingOnly: the control waits for a streaming call (e.g. the answer, past the stages before it).
    if (d.count <= 0 || (d.streamingOnly && !streaming)) return undefined;
    d.count -= 1;
    return d.afterTokens;
  }

  /** True when this structured reply must break its schema (consuming one `invalidJsonNext`). */
  takeInvalidJson(): boolean {
    if (this.#current.invalidJsonNext <= 0) return false;
    this.#current.invalidJsonNext -= 1;
    return true;
  }

  /** True when this plan must be bad (consuming one `badPlanNext`). */
  takeBadPlan(): boolean {
    if (this.#current.badPlanNext <= 0) return false;
    this.#current.badPlanNext -= 1;
    return true;
  }
}

const FAILURES: Record<number, { type: string; code: string; message: string }> = {
  400: { type: "invalid_request_error", code: "invalid_request", message: "The request was rejected." },
  401: { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided." },
  403: {
    type: "invalid_request_error",
    code: "permission_denied",
    message: "Access to this model is denied.",
  },
  404: { type: "invalid_request_error", code: "model_not_found", message: "The model does not exist." },
  408: { type: "timeout_error", code: "timeout", message: "The request timed out." },
  429: { type: "requests", code: "rate_limit_exceeded", message: "Rate limit reached; try again later." },
};

/**
 * The OpenAI-style error body of a simulated `status` failure (the `failNext` control): 4xx are
 * request errors with OpenAI's usual codes (429 `rate_limit_exceeded`), 5xx `server_error`.
 * The message says it is simulated (its wording, "…failNext knob", is part of the HTTP surface).
 */
export function simulatedFailureBody(status: number): ErrorBody {
  const known =
    FAILURES[status] ??
    (status >= 500
      ? { type: "server_error", code: "server_error", message: "The server had an error." }
      : { type: "invalid_request_error", code: "request_failed", message: "The request failed." });
  return errorBody(
    `${known.message} (simulated ${status} from the offline model's failNext knob)`,
    known.type,
    known.code,
  );
}
