import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { handleEventBridge, handleSqsBatch, type StartOutcome } from "../packages/run-start/index.ts";
import { parts, withMetrics } from "./aws.ts";

/**
 * Trigger Lambda: other AWS services start runs through the same path as POST /runs. An SQS
 * queue subscriber (with ReportBatchItemFailures) gets `{ batchItemFailures }`; an EventBridge
 * rule target gets the started run, or an error so EventBridge retries.
 */
export const handler = withMetrics(
  (event: SQSEvent | EventBridgeEvent<string, unknown>): Promise<SQSBatchResponse | StartOutcome> =>
    "Records" in event
      ? handleSqsBatch(parts.triggerDeps(), event)
      : handleEventBridge(parts.triggerDeps(), event),
);
