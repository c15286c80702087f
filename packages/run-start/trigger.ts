import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { z } from "zod";
import { CreateRunSchema, describeIssues, IdempotencyKeySchema } from "./schema.ts";
import { type StartOutcome, type StartRunDeps, startRun } from "./start-run.ts";

/**
 * A start request from another AWS service: the POST /runs body plus an optional
 * `idempotencyKey`. Without one, the SQS message id (stable across redeliveries) or the
 * EventBridge event id is the key, so a redelivered message never starts a second run.
 */
export const TriggerMessageSchema = z.strictObject({
  ...CreateRunSchema.shape,
  idempotencyKey: IdempotencyKeySchema.optional(),
});
/** A validated trigger message. */
export type TriggerMessage = z.infer<typeof TriggerMessageSchema>;

/** A message that can never start a run (bad JSON or schema); it belongs in the dead-letter queue. */
export class InvalidTriggerMessageError extends Error {
  override name = "InvalidTriggerMessageError";
}

/** What the trigger needs: the start path's dependencies and who owns runs started this way. */
export interface TriggerDeps extends StartRunDeps {
  /** The principal that owns runs started by messages (TRIGGER_OWNER). */
  owner: string;
}

function parseMessage(raw: unknown): TriggerMessage {
  const parsed = TriggerMessageSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidTriggerMessageError(describeIssues(parsed.error));
  return parsed.data;
}

async function start(deps: TriggerDeps, message: TriggerMessage, fallbackKey: string): Promise<StartOutcome> {
  const { idempotencyKey, ...input } = message;
  return startRun(deps, { owner: deps.owner, input, idempotencyKey: idempotencyKey ?? fallbackKey });
}

/**
 * An SQS batch: each record's body is a {@link TriggerMessage} in JSON. Records are started one
 * by one through the same path as POST /runs; the ones that fail (bad message, too many active
 * runs, store or workflow trouble) are reported in `batchItemFailures`, so SQS redelivers only
 * them (and moves them to the dead-letter queue after maxReceiveCount) and never re-runs the
 * others (ReportBatchItemFailures, AWS Lambda developer guide, "Using Lambda with Amazon SQS").
 */
export async function handleSqsBatch(deps: TriggerDeps, event: SQSEvent): Promise<SQSBatchResponse> {
  const startRecord = async (record: SQSRecord) => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      throw new InvalidTriggerMessageError("the body is not JSON");
    }
    // SQS message ids are UUIDs (36 characters): "sqs:" plus one is a valid key.
    const { runId, replayed } = await start(deps, parseMessage(body), `sqs:${record.messageId}`);
    deps.log?.({ msg: "trigger started run", source: "sqs", messageId: record.messageId, runId, replayed });
  };
  const logged = async (record: SQSRecord) => {
    try {
      await startRecord(record);
    } catch (err) {
      deps.log?.({
        level: err instanceof InvalidTriggerMessageError ? "warn" : "error",
        msg: "trigger message failed",
        messageId: record.messageId,
        error: `${(err as Error).name}: ${(err as Error).message}`,
      });
      throw err;
    }
  };
  // Powertools' partial-batch processor builds `batchItemFailures`. One record at a time (each
  // start claims an active-run slot), and a batch whose every record failed is reported like
  // any other rather than thrown, so SQS redelivers each record on its own count.
  return processPartialResponse(event, logged, new BatchProcessor(EventType.SQS), {
    processInParallel: false,
    throwOnFullBatchFailure: false,
  });
}

/**
 * An EventBridge event whose `detail` is a {@link TriggerMessage}. Any failure is thrown, so
 * EventBridge retries the delivery (and uses the rule target's dead-letter queue).
 * @throws InvalidTriggerMessageError for a detail that can never start a run; the start path's errors.
 */
export async function handleEventBridge(
  deps: TriggerDeps,
  event: EventBridgeEvent<string, unknown>,
): Promise<StartOutcome> {
  const started = await start(deps, parseMessage(event.detail), `eventbridge:${event.id}`);
  deps.log?.({ msg: "trigger started run", source: "eventbridge", eventId: event.id, ...started });
  return started;
}
