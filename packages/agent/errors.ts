/**
 * A stage failure worth retrying (model rate limit or 5xx, network, store throttling). Its
 * `name` is listed in the state machine's Retry (TRANSIENT_ERRORS), so Step Functions retries
 * the stage with backoff.
 */
export class TransientStageError extends Error {
  override name = "TransientStageError";
}

/**
 * A stage failure that retrying will not fix (the model refused the request, bad output).
 * `code` is the safe code run.failed carries (see packages/agent/finalize.ts).
 */
export class StageFailedError extends Error {
  override name = "StageFailedError";
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
