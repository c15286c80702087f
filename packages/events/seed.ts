import * as z from "zod";
import type { RunEvent, Stage } from "./schema.ts";

/**
 * The event types of the seed streaming API (seed 004, "Streaming AutoGen API", Event Types
 * table). Clients written against that document switch on these names.
 */
export const SEED_EVENT_TYPES = [
  "started",
  "agent_thinking",
  "agent_response",
  "tool_execution",
  "completed",
  "error",
] as const;

/** One of {@link SEED_EVENT_TYPES}. */
export type SeedEventType = (typeof SEED_EVENT_TYPES)[number];

/**
 * A frame's JSON in the seed document's shape: `{ "event": { event_type, timestamp,
 * agent_name, message, data: { progress, … } } }` (seed 004, "Event Structure"). `data`
 * carries the document's fields per type (`question`; `tool_name`, `parameters`;
 * `final_response`, `total_messages`, `response_length`; `error`) plus Stagecast's `run_id`,
 * `seq` and `stage`, so a seed client can also resume or correlate.
 * - `timestamp`: ISO-8601 UTC time the event was stored.
 * - `data.progress`: overall run progress in percent (0–100).
 */
export const SeedEventSchema = z.object({
  event: z.object({
    event_type: z.enum(SEED_EVENT_TYPES),
    timestamp: z.iso.datetime(),
    agent_name: z.string(),
    message: z.string(),
    data: z.looseObject({ progress: z.number().min(0).max(100) }),
  }),
});
/** A seed-format frame payload. */
export type SeedEvent = z.infer<typeof SeedEventSchema>;

/** The agent a stage is shown as to seed clients (the seed named its agents `PlanningAgent` etc.). */
export const agentName = (stage: Stage | undefined): string =>
  stage ? `${stage[0]?.toUpperCase()}${stage.slice(1)}Agent` : "Stagecast";

/**
 * Map one stored Stagecast event to the seed shape. Every stored event maps to exactly one
 * seed event, so ids (seq) stay dense and resume works the same in both formats:
 * run.queued → started; run.started, stage.started, stage.progress, stage.retrying →
 * agent_thinking; llm.delta, stage.completed → agent_response (`data.delta` is the answer
 * text being written); tool.started, tool.completed → tool_execution; run.completed →
 * completed; run.failed, run.cancelled, run.timed_out → error. The seed's `total_messages`
 * is the number of events the run stored (the terminal event's seq).
 */
export function toSeedEvent(event: RunEvent): SeedEvent {
  const common = { run_id: event.runId, seq: event.seq, progress: event.progress };
  const make = (
    event_type: SeedEventType,
    data: Record<string, unknown>,
    message = event.message,
  ): SeedEvent => ({
    event: {
      event_type,
      timestamp: event.ts,
      agent_name: agentName(event.stage),
      message,
      data: { ...common, ...(event.stage ? { stage: event.stage } : {}), ...data, progress: event.progress },
    },
  });
  switch (event.type) {
    case "run.queued":
      return make("started", { question: event.data.question });
    case "run.started":
    case "stage.started":
    case "stage.progress":
      return make("agent_thinking", {});
    case "stage.retrying":
      return make("agent_thinking", { retrying: true, error: event.data.error.message });
    case "llm.delta":
      return make("agent_response", { delta: event.data.text }, event.data.text);
    case "stage.completed":
      return make("agent_response", { duration_ms: event.data.durationMs });
    case "tool.started":
      return make("tool_execution", {
        tool_name: event.data.name,
        parameters: event.data.input,
        call_id: event.data.callId,
        status: "running",
      });
    case "tool.completed":
      return make("tool_execution", {
        tool_name: event.data.name,
        parameters: event.data.input ?? null,
        call_id: event.data.callId,
        status: event.data.ok ? "completed" : "failed",
        duration_ms: event.data.durationMs,
        ...(event.data.ok ? { result: event.data.result ?? null } : { error: event.data.error?.message }),
      });
    case "run.completed":
      return make("completed", {
        final_response: event.data.answer,
        total_messages: event.seq,
        response_length: event.data.answer.length,
      });
    case "run.failed":
    case "run.timed_out":
      return make("error", { error: event.data.error.message, code: event.data.error.code });
    case "run.cancelled":
      return make("error", { error: event.message, code: "cancelled" });
  }
}
