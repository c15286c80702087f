import {
  type RunEvent,
  type RunStage,
  type RunStatus,
  type SafeError,
  STATUS_OF_TERMINAL,
} from "../events/index.ts";

/**
 * The owner of runs started while authentication is off (every caller is this principal), and
 * of run items written before runs had an owner.
 */
export const ANONYMOUS = "anonymous";

/** Statuses of a run whose log has its terminal event. */
export const ENDED_STATUSES: ReadonlySet<RunStatus> = new Set(Object.values(STATUS_OF_TERMINAL));

/**
 * True when `principal` owns `run`: only the owner may read, stream or cancel a run. A run item
 * without an owner belongs to {@link ANONYMOUS}.
 */
export function isOwnedBy(run: { owner?: string | undefined }, principal: string): boolean {
  return (run.owner ?? ANONYMOUS) === principal;
}

/**
 * The agent runs were started with before the run item named its agent: the built-in one,
 * whose name this is. {@link RunRecords.view} shows it for such an item.
 */
export const LEGACY_AGENT = "default";

/**
 * The request a run was created for. `question` is the user's text; `projectId` scopes memory;
 * `conversationId` links runs that are turns of one conversation; `params` are named values
 * for the agent (POST /runs `params`, validated there), which handlers read as
 * `ctx.input.params`.
 * `agent` and `stages` are the agent that runs it (its name) and its stages in run order
 * (`{ name, weight }`, as run.queued carries them), stored on the item at creation so
 * GET /runs/{runId} needs no other read; startRun always sets them.
 */
export interface RunInput {
  question: string;
  projectId?: string;
  conversationId?: string;
  params?: Record<string, string | number | boolean>;
  agent?: string;
  stages?: readonly RunStage[];
}

/**
 * The run item (`pk = RUN#<runId>`, `sk = RUN`). It holds what a run is and how it ended;
 * the fine-grained state (stage, progress, last seq) lives in the event log, whose last event
 * is the truth (the item is only written at creation, start and end, so each event costs one
 * write, not two).
 * - times are ISO-8601 UTC strings; `expiresAt` is epoch seconds (DynamoDB TTL format).
 */
export interface RunRecord extends RunInput {
  runId: string;
  /** The principal that started the run (the JWT `sub`); only it may read, stream or cancel it. */
  owner: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: number;
  executionArn?: string;
  /** Final answer of a completed run. */
  answer?: string;
  /** Safe error of a failed / timed-out run. */
  error?: SafeError;
}

/** Fields of the run item a writer may change after creation. */
export type RunPatch = Partial<Pick<RunRecord, "status" | "executionArn" | "answer" | "error">>;

/**
 * A run as clients see it: the run item merged with the last event of its log (which wins,
 * because it may be newer than the item).
 */
export interface RunView extends RunRecord {
  /** The agent's name ({@link LEGACY_AGENT} for an item from before runs named theirs). */
  agent: string;
  /** The agent's stages in run order; empty for an item from before runs listed theirs. */
  stages: readonly RunStage[];
  stage?: RunEvent["stage"];
  progress: number;
  lastSeq: number;
  message?: string;
}
