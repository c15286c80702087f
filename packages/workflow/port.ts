/** What starting a run's workflow returned. */
export interface StartedExecution {
  /** The execution's ARN on AWS; a `local:` pseudo-ARN for the local runner. */
  executionArn: string;
  /**
   * True when the start was known to be a duplicate. Step Functions answers an identical
   * repeat start of a running Standard execution with success, so this may be false for a
   * duplicate too; either way only one execution exists.
   */
  alreadyStarted: boolean;
}

/**
 * The Workflow port: how the API starts a run's state machine, whatever runs it. Adapters:
 * {@link SfnWorkflow} (AWS Step Functions) and the local runner in local/stack.
 */
export interface Workflow {
  /**
   * Start the execution for `runId` (the execution name IS the run id, so a duplicate start
   * for the same run never starts a second execution).
   * @throws WorkflowUnavailableError when the engine cannot be reached or refuses.
   */
  start(runId: string): Promise<StartedExecution>;

  /**
   * Stop the run's execution (StopExecution / local abort). Stopping one that already ended, or
   * never existed, is not an error. A stage that is already running is NOT interrupted by this:
   * stages notice cancellation themselves from the run's log.
   * @throws WorkflowUnavailableError when the engine cannot be reached or refuses.
   */
  stop(runId: string): Promise<void>;
}

/** The workflow engine could not start an execution (throttled, unreachable, misconfigured). */
export class WorkflowUnavailableError extends Error {
  override name = "WorkflowUnavailableError";
}
