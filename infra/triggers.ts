import type { DeployedAgent } from "./agent.ts";
import { functionDefaults, tableAccess } from "./settings.ts";

/** The detail-type of the EventBridge event that starts a run (docs/deploy.md shows one). */
export const RUN_REQUESTED_DETAIL_TYPE = "Stagecast Run Requested";

/**
 * Other AWS services start runs through one trigger function (functions/trigger.ts, the same
 * start path as POST /runs):
 * - an SQS queue, batches of up to 10, partial batch responses (ReportBatchItemFailures), so one
 *   bad message is retried alone; after 3 receives a message goes to the dead-letter queue;
 * - an EventBridge bus whose `Stagecast Run Requested` events start runs (EventBridge retries a
 *   failed invocation).
 * The queue's visibility timeout is six times the function timeout, as Lambda's SQS guide advises.
 */
export function createTriggers({
  table,
  stateMachine,
  agent,
}: {
  table: sst.aws.Dynamo;
  stateMachine: aws.sfn.StateMachine;
  agent: DeployedAgent;
}) {
  const deadLetters = new sst.aws.Queue("RunRequestsDlq", {
    transform: { queue: { messageRetentionSeconds: 1_209_600 } },
  });
  const queue = new sst.aws.Queue("RunRequests", {
    visibilityTimeout: "180 seconds",
    dlq: { queue: deadLetters.arn, retry: 3 },
  });
  const bus = new sst.aws.Bus("Runs");

  const defaults = functionDefaults("trigger", agent);
  const fn = new sst.aws.Function("Trigger", {
    ...defaults,
    handler: "functions/trigger.handler",
    description: "Stagecast: starts runs from SQS messages and EventBridge events",
    timeout: "30 seconds",
    environment: { ...defaults.environment, TABLE_NAME: table.name, STATE_MACHINE_ARN: stateMachine.arn },
    permissions: [
      tableAccess(table, "write"),
      { actions: ["states:StartExecution"], resources: [stateMachine.arn] },
      {
        actions: [
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:ChangeMessageVisibility",
          "sqs:GetQueueAttributes",
        ],
        resources: [queue.arn],
      },
    ],
  });

  queue.subscribe(fn.arn, { batch: { size: 10, partialResponses: true } });
  bus.subscribe("RunRequested", fn, { pattern: { detailType: [RUN_REQUESTED_DETAIL_TYPE] } });

  return { queue, deadLetters, bus, fn };
}
