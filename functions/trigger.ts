import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  handleEventBridge,
  handleSqsBatch,
  type StartOutcome,
  type TriggerDeps,
} from "../packages/run-start/index.ts";
import { awsStore, awsWorkflow, config, log, withMetrics } from "./aws.ts";

const deps = (): TriggerDeps => ({
  store: awsStore(),
  workflow: awsWorkflow(),
  maxActiveRuns: config.MAX_ACTIVE_RUNS,
  owner: config.TRIGGER_OWNER,
  log,
});

/**
 * Trigger Lambda: other AWS services start runs through the same path as POST /runs. An SQS
 * queue subscriber (with ReportBatchItemFailures) gets `{ batchItemFailures }`; an EventBridge
 * rule target gets the started run, or an error so EventBridge retries.
 */
export const handler = withMetrics(
  (event: SQSEvent | EventBridgeEvent<string, unknown>): Promise<SQSBatchResponse | StartOutcome> =>
    "Records" in event ? handleSqsBatch(deps(), event) : handleEventBridge(deps(), event),
);
