import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidArn,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { ulid } from "ulid";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { SfnWorkflow, WorkflowUnavailableError } from "../../../packages/workflow/index.ts";

const STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:stagecast-run";
const executionArn = (name: string) =>
  `arn:aws:states:eu-west-1:123456789012:execution:stagecast-run:${name}`;

const sfn = mockClient(SFNClient);
const client = new SFNClient({
  region: "eu-west-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
});
const workflow = new SfnWorkflow({ stateMachineArn: STATE_MACHINE_ARN, client });

beforeEach(() => {
  sfn.reset();
});

afterAll(() => {
  sfn.restore();
  client.destroy();
});

describe("SfnWorkflow.start", () => {
  it("calls StartExecution with name = runId, the state machine ARN and the execution input", async () => {
    const runId = ulid();
    sfn.on(StartExecutionCommand).resolves({ executionArn: executionArn(runId), startDate: new Date() });

    const started = await workflow.start(runId);

    expect(started).toEqual({ executionArn: executionArn(runId), alreadyStarted: false });
    const calls = sfn.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.name).toBe(runId);
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(JSON.parse(input?.input ?? "null")).toEqual({ runId, state: {} });
    expect(input?.input).toBe(JSON.stringify({ runId, state: {} }));
  });

  it("returns the executionArn the service returned", async () => {
    const runId = ulid();
    const arn = `${executionArn(runId)}-from-service`;
    sfn.on(StartExecutionCommand).resolves({ executionArn: arn, startDate: new Date() });
    expect((await workflow.start(runId)).executionArn).toBe(arn);
  });

  it("ExecutionAlreadyExists → alreadyStarted with the derived execution ARN", async () => {
    const runId = ulid();
    sfn
      .on(StartExecutionCommand)
      .rejects(
        new ExecutionAlreadyExists({ $metadata: {}, message: `Execution Already Exists: '${runId}'` }),
      );

    const started = await workflow.start(runId);

    expect(started).toEqual({ executionArn: executionArn(runId), alreadyStarted: true });
    expect(workflow.executionArnOf(runId)).toBe(executionArn(runId));
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it.each([
    [
      "StateMachineDoesNotExist",
      new StateMachineDoesNotExist({ $metadata: {}, message: "secret-detail-1 arn:x" }),
    ],
    ["InvalidArn", new InvalidArn({ $metadata: {}, message: "secret-detail-2 arn:y" })],
    [
      "ThrottlingException",
      new SFNServiceException({
        name: "ThrottlingException",
        $fault: "client",
        $metadata: {},
        message: "secret-detail-3 rate exceeded",
      }),
    ],
    [
      "network error",
      Object.assign(new Error("secret-detail-4 connect ECONNREFUSED 10.0.0.1:443"), { name: "Error" }),
    ],
  ])("%s → WorkflowUnavailableError without the SDK's message text", async (_name, sdkError) => {
    sfn.on(StartExecutionCommand).rejects(sdkError);

    const err = await workflow.start(ulid()).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(WorkflowUnavailableError);
    const message = (err as Error).message;
    expect(message).not.toContain(sdkError.message);
    expect(message).not.toMatch(/secret-detail/);
    expect((err as Error).name).toBe("WorkflowUnavailableError");
    // The original is kept for logs only.
    expect((err as Error).cause).toBe(sdkError);
  });

  it("a response without executionArn → WorkflowUnavailableError", async () => {
    sfn.on(StartExecutionCommand).resolves({});
    await expect(workflow.start(ulid())).rejects.toBeInstanceOf(WorkflowUnavailableError);
  });
});

describe("SfnWorkflow.stop", () => {
  it("calls StopExecution on the run's execution ARN", async () => {
    const runId = ulid();
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    await workflow.stop(runId);
    const calls = sfn.commandCalls(StopExecutionCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({ executionArn: executionArn(runId) });
  });

  it("ignores an execution that does not exist", async () => {
    sfn
      .on(StopExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ $metadata: {}, message: "no such execution" }));
    await expect(workflow.stop(ulid())).resolves.toBeUndefined();
  });

  it("turns other failures into WorkflowUnavailableError without the SDK's text", async () => {
    sfn.on(StopExecutionCommand).rejects(new InvalidArn({ $metadata: {}, message: "secret arn detail" }));
    const err = await workflow.stop(ulid()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUnavailableError);
    expect((err as Error).message).not.toContain("secret");
  });
});
