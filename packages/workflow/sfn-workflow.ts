import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { executionInput } from "./definition.ts";
import { type StartedExecution, type Workflow, WorkflowUnavailableError } from "./port.ts";

/**
 * Step Functions adapter of the {@link Workflow} port. StartExecution uses the run id as the
 * execution name: for Standard workflows a repeat with the same name and input is idempotent
 * and returns the existing execution (Step Functions API reference, StartExecution);
 * a repeat with a different input raises ExecutionAlreadyExists, which is also "already
 * started" for us because the name is the run.
 */
export class SfnWorkflow implements Workflow {
  readonly client: SFNClient;
  readonly stateMachineArn: string;

  constructor(options: { stateMachineArn: string; client?: SFNClient }) {
    this.stateMachineArn = options.stateMachineArn;
    this.client = options.client ?? new SFNClient({});
  }

  /** @throws WorkflowUnavailableError for every failure except an existing execution of that name. */
  async start(runId: string): Promise<StartedExecution> {
    try {
      const out = await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: runId,
          input: JSON.stringify(executionInput(runId)),
        }),
      );
      if (!out.executionArn) throw new WorkflowUnavailableError("StartExecution returned no executionArn");
      return { executionArn: out.executionArn, alreadyStarted: false };
    } catch (err) {
      if (err instanceof ExecutionAlreadyExists) {
        return { executionArn: this.executionArnOf(runId), alreadyStarted: true };
      }
      if (err instanceof WorkflowUnavailableError) throw err;
      const name = err instanceof Error ? err.name : "UnknownError";
      throw new WorkflowUnavailableError(`StartExecution failed (${name})`, { cause: err });
    }
  }

  /**
   * StopExecution for the run's execution. An execution that is already stopped or finished
   * answers success; one that does not exist is ignored.
   * @throws WorkflowUnavailableError for other failures.
   */
  async stop(runId: string): Promise<void> {
    try {
      await this.client.send(
        new StopExecutionCommand({
          executionArn: this.executionArnOf(runId),
          error: "Stagecast.Cancelled",
          cause: "Cancelled by the caller.",
        }),
      );
    } catch (err) {
      if (err instanceof ExecutionDoesNotExist) return;
      const name = err instanceof Error ? err.name : "UnknownError";
      throw new WorkflowUnavailableError(`StopExecution failed (${name})`, { cause: err });
    }
  }

  /**
   * The ARN of this state machine's execution named `runId`: executions share the state
   * machine ARN with `stateMachine` replaced by `execution` and the name appended.
   */
  executionArnOf(runId: string): string {
    return `${this.stateMachineArn.replace(":stateMachine:", ":execution:")}:${runId}`;
  }
}
