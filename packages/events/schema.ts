import * as z from "zod";

/**
 * What a stage name looks like: a lower-case letter, then lower-case letters, digits or `_`,
 * at most 32 characters. Stage names are open (each agent names its own stages, see
 * packages/agent's checkAgent), so this pattern is the whole contract: a plain identifier that
 * is safe in events, statistics attribute names and derived state names.
 */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/** A stage name (see {@link STAGE_NAME_PATTERN}), e.g. `"planning"`. */
export const StageSchema = z
  .string()
  .regex(STAGE_NAME_PATTERN, "a stage name is a lower-case letter, then letters, digits or _ (≤ 32)");
/** A stage name, e.g. `"planning"`: any name an agent gives a stage. */
export type Stage = z.infer<typeof StageSchema>;

/**
 * A stage as a run lists it (run.queued `data.stages`, GET /runs/{runId} `stages`): its name
 * and weight, a positive number relative to the other stages' weights. A stage's share of the
 * run's progress bar is weight / Σ weights (the bands tile 0–100 in list order).
 */
export const RunStageSchema = z.object({
  name: StageSchema,
  weight: z.number().positive(),
});
/** One entry of a run's stage list: `{ name, weight }`. */
export type RunStage = z.infer<typeof RunStageSchema>;

/**
 * A run identifier: a ULID (26 Crockford base-32 characters, time-ordered), so ids sort by
 * creation time and are safe in URLs, DynamoDB keys and Step Functions execution names
 * (which allow at most 80 characters).
 */
export const RunIdSchema = z
  .string()
  .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "runId must be a ULID (26 characters)");

/** A safe, client-facing error: a stable machine code plus one human sentence. Never a stack or SDK text. */
export const SafeErrorSchema = z.object({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/),
  message: z.string().max(500),
});
/** `{ code, message }` as carried by run.failed, stage.retrying and tool errors. */
export type SafeError = z.infer<typeof SafeErrorSchema>;

/** Model token counts as the OpenAI chat-completions `usage` object reports them (tokens). */
export const UsageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
/** Token counts of one or more model calls. */
export type Usage = z.infer<typeof UsageSchema>;

/** Free-form, JSON-serialisable detail attached to stage events (what was loaded, the plan, …). */
const DetailSchema = z.record(z.string(), z.json());

/**
 * Fields every stored event has (docs/design.md, "The event model").
 * - `seq`: 1, 2, 3 … per run, dense and strictly increasing; it is the SSE `id:`.
 * - `ts`: ISO-8601 UTC time of the write.
 * - `progress`: overall run progress in percent (0–100), never decreasing within a run.
 * - `attempt`: the Step Functions retry count of the stage (0 for the first try).
 */
const base = {
  runId: RunIdSchema,
  seq: z.number().int().positive(),
  ts: z.iso.datetime(),
  stage: StageSchema.optional(),
  attempt: z.number().int().nonnegative().optional(),
  progress: z.number().min(0).max(100),
  message: z.string().max(1000),
};

const ev = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({ ...base, type: z.literal(type), data });

/**
 * The one schema for every stored event, discriminated on `type`. Types are inferred from it
 * and clients import it to validate what they receive. Terminal types are listed in
 * {@link TERMINAL_TYPES}; exactly one of them ends every run.
 */
export const RunEventSchema = z.discriminatedUnion("type", [
  ev(
    "run.queued",
    z.object({
      question: z.string(),
      projectId: z.string().optional(),
      conversationId: z.string().optional(),
      /**
       * The agent that runs it (its name) and that agent's stages in run order: what a client
       * draws its timeline from. Absent only in runs queued before runs carried their stage
       * list; a client then adds stages as they appear.
       */
      agent: z.string().optional(),
      stages: z.array(RunStageSchema).optional(),
    }),
  ),
  ev("run.started", z.object({ executionName: z.string().optional() })),
  ev(
    "stage.started",
    z.object({ index: z.number().int().nonnegative(), total: z.number().int().positive() }),
  ),
  ev("stage.progress", DetailSchema),
  ev(
    "llm.delta",
    z.object({
      text: z.string(),
      model: z.string().optional(),
      /** True when the endpoint could not stream and this text is a replayed chunk of a finished reply. */
      simulated: z.boolean().optional(),
    }),
  ),
  ev("tool.started", z.object({ callId: z.string(), name: z.string(), input: z.json() })),
  ev(
    "tool.completed",
    z.object({
      callId: z.string(),
      name: z.string(),
      /** The call's input again, so a client that joins mid-call (or an AutoGen API client) has it with the result. */
      input: z.json().optional(),
      durationMs: z.number().nonnegative(),
      ok: z.boolean(),
      result: z.json().optional(),
      error: SafeErrorSchema.optional(),
    }),
  ),
  ev("stage.completed", z.object({ durationMs: z.number().nonnegative() }).catchall(z.json())),
  ev("stage.retrying", z.object({ error: SafeErrorSchema, nextAttempt: z.number().int().positive() })),
  ev(
    "run.completed",
    z.object({
      answer: z.string(),
      models: z.array(z.string()),
      usage: UsageSchema,
      usageByStage: z.record(z.string(), UsageSchema),
      durationMs: z.number().nonnegative(),
    }),
  ),
  ev("run.failed", z.object({ error: SafeErrorSchema })),
  ev("run.cancelled", z.object({ reason: z.string().optional() })),
  ev("run.timed_out", z.object({ error: SafeErrorSchema })),
]);

/** A stored progress event (any type). */
export type RunEvent = z.infer<typeof RunEventSchema>;
/** The `type` of a {@link RunEvent}, e.g. `"stage.progress"`. */
export type RunEventType = RunEvent["type"];
/** The event of one given type, e.g. `EventOf<"llm.delta">`. */
export type EventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

/** The four event types that end a run; a run's log holds exactly one of them, as its last event. */
export const TERMINAL_TYPES = ["run.completed", "run.failed", "run.cancelled", "run.timed_out"] as const;
/** One of {@link TERMINAL_TYPES}. */
export type TerminalType = (typeof TERMINAL_TYPES)[number];

/**
 * Every status a run can have, as the run item keeps it and GET /runs/{runId} and the
 * `snapshot` frame show it: `queued` (created, no stage yet), `running` (its first stage
 * began), then one of the four ended statuses, one per terminal event
 * ({@link STATUS_OF_TERMINAL}).
 */
export const RUN_STATUSES = ["queued", "running", "completed", "failed", "cancelled", "timed_out"] as const;
/** One of {@link RUN_STATUSES}: a run's lifecycle status. */
export type RunStatus = (typeof RUN_STATUSES)[number];
/** A {@link RunStatus}, validated. */
export const RunStatusSchema = z.enum(RUN_STATUSES);

/** The status a run has once its log holds the given terminal event (`run.timed_out` → `timed_out`). */
export const STATUS_OF_TERMINAL: Readonly<Record<TerminalType, RunStatus>> = {
  "run.completed": "completed",
  "run.failed": "failed",
  "run.cancelled": "cancelled",
  "run.timed_out": "timed_out",
};

/** Longest event `message` (characters), as the schema allows. */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * `text` cut to at most `max` characters (with an ellipsis): for messages built from model or
 * tool output, which the schema would otherwise refuse (`message` ≤ 1,000, error messages ≤ 500).
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** True when `type` ends a run (see {@link TERMINAL_TYPES}). */
export function isTerminalType(type: string): type is TerminalType {
  return (TERMINAL_TYPES as readonly string[]).includes(type);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * What a writer supplies to append an event: everything but the fields the store assigns
 * (`runId`, `seq`, `ts`).
 */
export type EventInput = DistributiveOmit<RunEvent, "runId" | "seq" | "ts">;

/**
 * The `heartbeat` frame the stream sends while nothing else is sent. It is not stored and
 * carries no `id:`, so it never moves a client's Last-Event-ID.
 * - `elapsedMs`: time since the run was created (ms).
 */
export const HeartbeatSchema = z.object({
  runId: RunIdSchema,
  elapsedMs: z.number().nonnegative(),
  stage: StageSchema.optional(),
  progress: z.number().min(0).max(100),
  lastSeq: z.number().int().nonnegative(),
});
/** Payload of a `heartbeat` frame. */
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/**
 * The `snapshot` frame a stream opened with `?from=latest` sends first: the run as it is now.
 * Its SSE `id:` is `lastSeq`, so a client that reconnects resumes right after it.
 */
export const SnapshotSchema = z.object({
  runId: RunIdSchema,
  status: RunStatusSchema,
  stage: StageSchema.optional(),
  progress: z.number().min(0).max(100),
  lastSeq: z.number().int().nonnegative(),
  message: z.string().optional(),
  question: z.string(),
  answer: z.string().optional(),
  error: SafeErrorSchema.optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
/** Payload of a `snapshot` frame. */
export type Snapshot = z.infer<typeof SnapshotSchema>;

/**
 * The `reconnect` frame a stream sends when it closes before the run's end (its deadline:
 * a Function URL invocation ends at the function timeout, at most 15 minutes; its byte cap:
 * Lambda caps a streamed response at 200 MB; or a store error). Not stored, no `id:`. It also
 * carries the SSE `retry:` field; a client resumes after `lastSeq` (`?after=` or
 * Last-Event-ID) once `retryMs` has passed.
 * - `reason`: `deadline` | `max_bytes` | `error`.
 */
export const ReconnectSchema = z.object({
  runId: RunIdSchema,
  lastSeq: z.number().int().nonnegative(),
  retryMs: z.number().int().nonnegative(),
  reason: z.enum(["deadline", "max_bytes", "error"]),
});
/** Payload of a `reconnect` frame. */
export type Reconnect = z.infer<typeof ReconnectSchema>;

/**
 * The `ended` frame: the run has ended but its terminal event is at or below this stream's
 * cursor (a Last-Event-ID or `after` ahead of the log), so the terminal event itself is not
 * sent again. The stream closes right after it; a reconnect gets 204. Not stored, no `id:`.
 * - `lastSeq`: the terminal event's seq; `terminal`: its type.
 */
export const EndedSchema = z.object({
  runId: RunIdSchema,
  lastSeq: z.number().int().positive(),
  terminal: z.enum(TERMINAL_TYPES),
});
/** Payload of an `ended` frame. */
export type Ended = z.infer<typeof EndedSchema>;

/** Every stored event type, in schema order (clients register one SSE listener per type). */
export const EVENT_TYPES: readonly RunEventType[] = RunEventSchema.options.map((o) => o.shape.type.value);
