import { createHash } from "node:crypto";
import { ulid } from "ulid";
import type { RunStage } from "../events/index.ts";
import type { LogFn } from "../observability/index.ts";
import { buildEvent, endRun, isOwnedBy, RunExistsError, type Store } from "../store/index.ts";
import { type Workflow, WorkflowUnavailableError } from "../workflow/index.ts";
import { type CreateRunRequest, IDEMPOTENCY_TTL_SECONDS } from "./schema.ts";

/** The owner already has `max` runs running (the active-run limit). */
export class TooManyActiveRunsError extends Error {
  override name = "TooManyActiveRunsError";
  readonly max: number;
  constructor(max: number) {
    super(`At most ${max} ${max === 1 ? "run" : "runs"} may be running at once; wait for one to end.`);
    this.max = max;
  }
}

/** The idempotency key was used with a different request (or by someone else's run). */
export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
}

/**
 * The agent runs are started for, as far as starting one needs it: its name and its stages in
 * run order with their weights (an Agent from packages/agent is one). They go into run.queued
 * and the run item, so every client draws the run's own stages.
 */
export interface RunAgentInfo {
  name: string;
  stages: readonly RunStage[];
}

/** What starting a run needs. */
export interface StartRunDeps {
  store: Store;
  workflow: Workflow;
  /** The agent the workflow runs (compose passes `parts.agent.agent`). */
  agent: RunAgentInfo;
  /** Most runs one owner may have running at once. */
  maxActiveRuns: number;
  log?: LogFn;
}

/** A start request: who, what, and optionally an idempotency key (already validated). */
export interface StartRunRequest {
  owner: string;
  input: CreateRunRequest;
  idempotencyKey?: string;
}

/**
 * What startRun did: the run id, and whether an idempotency key replayed an earlier start
 * (then no new run was created). Not the HTTP answer: that is the client's `StartedRun` (202).
 */
export interface StartOutcome {
  runId: string;
  replayed: boolean;
}

/**
 * What an idempotency key is bound to: a hash of the request's question, projectId,
 * conversationId and, when present, params (keys sorted, so their order does not matter; a
 * request without params hashes as it did before runs had them).
 */
function requestHashOf(input: CreateRunRequest): string {
  const params = input.params
    ? [Object.fromEntries(Object.entries(input.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]
    : [];
  return createHash("sha256")
    .update(
      JSON.stringify([input.question, input.projectId ?? null, input.conversationId ?? null, ...params]),
    )
    .digest("hex");
}

/**
 * Start a run: the one path behind POST /runs and the SQS / EventBridge trigger.
 * 1. With an idempotency key: claim it (per owner, 24 h); a repeat returns the first run.
 * 2. A new run takes one of the owner's run slots, atomically.
 * 3. Create the run item, queue it (run.queued at exactly seq 1; both carry the agent's name
 *    and stage list), start the workflow (the execution name is the run id). Each step is safe
 *    to repeat, so a replay finishes whatever an earlier request with the same key left undone.
 * @throws TooManyActiveRunsError, IdempotencyConflictError; WorkflowUnavailableError (the run
 *   is then ended with run.failed `workflow_unavailable` and the key freed); StoreError.
 */
export async function startRun(deps: StartRunDeps, request: StartRunRequest): Promise<StartOutcome> {
  const { store, workflow } = deps;
  const { owner, input, idempotencyKey: key } = request;
  let runId = ulid();
  let replayed = false;
  if (key !== undefined) {
    const requestHash = requestHashOf(input);
    const claim = await store.idempotency.claim(owner, key, { runId, requestHash }, IDEMPOTENCY_TTL_SECONDS);
    if (!claim.claimed) {
      if (claim.requestHash !== requestHash) {
        throw new IdempotencyConflictError("This idempotency key was used with a different request.");
      }
      runId = claim.runId;
      replayed = true;
      const existing = await store.runs.get(runId);
      if (existing && !isOwnedBy(existing, owner)) {
        throw new IdempotencyConflictError("This idempotency key was used with a different request.");
      }
    }
  }
  let slot: number | undefined;
  if (!replayed) {
    slot = await store.slots.claim(owner, runId, deps.maxActiveRuns);
    if (slot === undefined) {
      if (key !== undefined) await store.idempotency.release(owner, key);
      throw new TooManyActiveRunsError(deps.maxActiveRuns);
    }
  }
  const stages = deps.agent.stages.map(({ name, weight }) => ({ name, weight }));
  try {
    await store.runs.create(runId, { ...input, agent: deps.agent.name, stages }, owner, slot);
  } catch (err) {
    if (slot !== undefined) await store.slots.release(owner, slot, runId);
    if (!(err instanceof RunExistsError && key !== undefined)) throw err;
  }
  const last = await store.events.last(runId);
  if (last && last.type !== "run.queued") return { runId, replayed }; // already started or ended
  if (!last) {
    // Exactly seq 1: two racing replays cannot both queue it.
    await store.events.putIfAbsent(
      buildEvent(
        {
          type: "run.queued",
          progress: 0,
          message: "Run queued.",
          data: {
            question: input.question,
            ...(input.projectId ? { projectId: input.projectId } : {}),
            ...(input.conversationId ? { conversationId: input.conversationId } : {}),
            agent: deps.agent.name,
            stages,
          },
        },
        runId,
        1,
        store.table.now(),
      ),
    );
  }
  let executionArn: string;
  try {
    ({ executionArn } = await workflow.start(runId));
  } catch (err) {
    if (!(err instanceof WorkflowUnavailableError)) throw err;
    deps.log?.({
      level: "error",
      msg: "workflow start failed",
      runId,
      error: err.message,
      cause: String(err.cause),
    });
    await endRun(store, runId, {
      type: "run.failed",
      error: { code: "workflow_unavailable", message: "The workflow could not be started." },
    });
    // Free the key: a retry with it must start a run, not replay this failure.
    if (key !== undefined) await store.idempotency.release(owner, key);
    throw err;
  }
  // The run has started: failing to note its ARN must not become an error the caller would
  // retry (a retry would start a second run).
  await store.runs.update(runId, { executionArn }).catch((err: unknown) => {
    deps.log?.({ level: "warn", msg: "could not record the execution ARN", runId, error: String(err) });
  });
  return { runId, replayed };
}
