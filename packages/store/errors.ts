/** Base class of every error the progress store throws; SDK errors never leave the store untranslated. */
export class StoreError extends Error {
  override name = "StoreError";
}

/** The run does not exist (or has expired under TTL). */
export class RunNotFoundError extends StoreError {
  override name = "RunNotFoundError";
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId} not found`);
    this.runId = runId;
  }
}

/** RunRecords.create was called with an id that is already taken. */
export class RunExistsError extends StoreError {
  override name = "RunExistsError";
  readonly runId: string;
  constructor(runId: string) {
    super(`run ${runId} already exists`);
    this.runId = runId;
  }
}

/**
 * The run's log already ends with a terminal event: nothing may be appended after it
 * (docs/design.md, "exactly one terminal event per run").
 */
export class RunFinishedError extends StoreError {
  override name = "RunFinishedError";
  readonly runId: string;
  readonly terminalType: string;
  constructor(runId: string, terminalType: string) {
    super(`run ${runId} already ended with ${terminalType}`);
    this.runId = runId;
    this.terminalType = terminalType;
  }
}

/** An append lost the race for the next seq more often than its retry budget allows. */
export class AppendContentionError extends StoreError {
  override name = "AppendContentionError";
  readonly runId: string;
  constructor(runId: string, attempts: number) {
    super(`append to run ${runId} lost the seq race ${attempts} times`);
    this.runId = runId;
  }
}

/**
 * An item would exceed DynamoDB's 400 KB item limit (DynamoDB developer guide, "Service,
 * account, and table quotas"); nothing was written.
 */
export class ItemTooLargeError extends StoreError {
  override name = "ItemTooLargeError";
  readonly bytes: number;
  constructor(bytes: number) {
    super(`item of ${bytes} bytes exceeds the store's item limit`);
    this.bytes = bytes;
  }
}

/** DynamoDB could not be reached or refused the call (throttling, network, credentials). Retryable. */
export class StoreUnavailableError extends StoreError {
  override name = "StoreUnavailableError";
}

/** An event did not match the event schema; a programming error in the writer, nothing was written. */
export class InvalidEventError extends StoreError {
  override name = "InvalidEventError";
}

/**
 * A stored stage output (StageOutputs.get) is gone or incomplete: expired under TTL, never
 * written, or some of its chunks missing. Not retryable.
 */
export class StageOutputMissingError extends StoreError {
  override name = "StageOutputMissingError";
  readonly runId: string;
  readonly sk: string;
  constructor(runId: string, sk: string, detail: string) {
    super(`stored output ${sk} of run ${runId} is missing (${detail})`);
    this.runId = runId;
    this.sk = sk;
  }
}
