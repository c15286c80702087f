import * as z from "zod";
import type { RunEvent, Stage } from "./schema.ts";

/**
 * The event types of the AutoGen streaming API's shape: the streaming AutoGen service
 * Stagecast was modelled on (docs/origins.md) sent these six, and clients written for it
 * switch on these names.
 */
export const AUTOGEN_EVENT_TYPES = [
  "started",
  "agent_thinking",
  "agent_response",
  "tool_execution",
  "completed",
  "error",
] as const;

/** One of {@link AUTOGEN_EVENT_TYPES}. */
export type AutoGenEventType = (typeof AUTOGEN_EVENT_TYPES)[number];

/**
 * A frame's JSON in the AutoGen streaming API's shape: `{ "event": { event_type, timestamp,
 * agent_name, message, data: { progress, … } } }` (docs/api.md §7). `data` carries that API's
 * fields per type (`question`; `tool_name`, `parameters`; `final_response`, `total_messages`,
 * `response_length`; `error`) plus Stagecast's `run_id`, `seq` and `stage`, so an AutoGen API
 * client can also resume or correlate.
 * - `timestamp`: ISO-8601 UTC time the event was stored.
 * - `data.progress`: overall run progress in percent (0–100).
 */
export const AutoGenEventSchema = z.object({
  event: z.object({
    event_type: z.enum(AUTOGEN_EVENT_TYPES),
    timestamp: z.iso.datetime(),
    agent_name: z.string(),
    message: z.string(),
    data: z.looseObject({ progress: z.number().min(0).max(100) }),
  }),
});
/** An AutoGen-format frame payload (the JSON of one `data:` line); see {@link AutoGenEventSchema}. */
export type AutoGenEvent = z.infer<typeof AutoGenEventSchema>;

/**
 * The agent a stage is shown as to AutoGen API clients, which print `agent_name: message`
 * (that API named its agents `PlanningAgent` etc.): `planning` → `PlanningAgent`; run-level
 * events (no stage) → `Stagecast`.
 */
export const agentName = (stage: Stage | undefined): string =>
  stage ? `${stage[0]?.toUpperCase()}${stage.slice(1)}Agent` : "Stagecast";

/**
 * Map one stored Stagecast event to the AutoGen streaming API's shape. Every stored event maps
 * to exactly one AutoGen event, so ids (seq) stay dense and resume works the same in both
 * formats: run.queued → started; run.started, stage.started, stage.progress, stage.retrying →
 * agent_thinking; llm.delta, stage.completed → agent_response (`data.delta` is the answer
 * text being written); tool.started, tool.completed → tool_execution; run.completed →
 * completed; run.failed, run.cancelled, run.timed_out → error. `total_messages` is the number
 * of events the run stored (the terminal event's seq).
 */
export function toAutoGenEvent(event: RunEvent): AutoGenEvent {
  const common = { run_id: event.runId, seq: event.seq, progress: event.progress };
  const make = (
    event_type: AutoGenEventType,
    data: Record<string, unknown>,
    message = event.message,
  ): AutoGenEvent => ({
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
