/**
 * The API or the stream answered with an error (`{ error: { code, message, requestId } }`,
 * docs/api.md "Errors"). `status` is the HTTP status; `code` the stable machine code
 * (`run_not_found`, `too_many_active_runs`, …); `retryAfterMs` the Retry-After header in ms.
 */
export class StagecastApiError extends Error {
  override name = "StagecastApiError";
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, code: string, message: string, requestId?: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The server sent something that is not Stagecast's protocol (an event failing the shared schema, a non-JSON body). */
export class StagecastProtocolError extends Error {
  override name = "StagecastProtocolError";
}

/** The stream could not be (re)opened after the allowed number of consecutive attempts; `cause` is the last failure. */
export class StagecastConnectionError extends Error {
  override name = "StagecastConnectionError";
}

/**
 * A poll link the client cannot use: not an absolute http(s) URL whose path ends with
 * `/runs/{runId}/poll` ({runId} a ULID), or a link for another run than the one asked for.
 * Thrown before any request, so a mistyped or truncated share link fails at once, clearly.
 */
export class InvalidPollUrlError extends Error {
  override name = "InvalidPollUrlError";
}
