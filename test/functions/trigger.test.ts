import { StartExecutionCommand } from "@aws-sdk/client-sfn";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Functions,
  loadFunctions,
  STATE_MACHINE_ARN,
  sfnMock,
  store,
  useLambdaFunctions,
} from "../support/lambda-functions.ts";

useLambdaFunctions();

describe("functions/trigger.ts (SQS subscriber)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("starts runs through StartExecution and reports the bad message as a batch item failure", async () => {
    sfnMock.reset();
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:t`, startDate: new Date() });
    const sqs = (messageId: string, body: string) => ({
      messageId,
      receiptHandle: `AQEB${messageId}`,
      body,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "1",
        SenderId: "AIDA",
        ApproximateFirstReceiveTimestamp: "1",
      },
      messageAttributes: {},
      md5OfBody: "x",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:stagecast-runs",
      awsRegion: "us-east-1",
    });
    const good = "a1b2c3d4-0000-4000-8000-000000000001";
    const bad = "a1b2c3d4-0000-4000-8000-000000000002";
    const result = (await fns.trigger({
      Records: [sqs(good, '{"question":"From the queue"}'), sqs(bad, "[]")],
    })) as { batchItemFailures: Array<{ itemIdentifier: string }> };
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: bad }]);
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(1);
    const runId = calls[0]?.args[0].input.name ?? "";
    expect((await store.runs.get(runId))?.owner).toBe("trigger");
  });
});
