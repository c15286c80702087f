import { isTerminalType } from "../events/index.ts";
import { endRun } from "./end-run.ts";
import type { Store } from "./store.ts";

/** What one sweep did: runs it ended (`timedOut`), and markers of runs that had already ended. */
export interface SweepResult {
  timedOut: string[];
  cleaned: string[];
}

/** The safe error of a run ended by the sweeper. */
const SILENT = {
  code: "run_silent",
  message: "The run stopped making progress (its workflow is gone) and was ended.",
};

/** The safe error of a run that a previous local process left unfinished (see {@link endOrphanedRuns}). */
export const ORPHANED = {
  code: "server_restarted",
  message: "The server stopped while this run was in progress; the run was ended when it started again.",
};

/**
 * End runs whose workflow vanished: an active run whose newest event (or, with no events, its
 * creation) is older than `silenceMs` gets run.timed_out; markers of runs that already ended
 * are removed. The local stack runs it periodically (a stage can die while the process lives);
 * on AWS a scheduled function runs it. `silenceMs` must exceed the longest stage time limit,
 * or a slow but healthy stage would be ended.
 * @throws StoreError subclasses when the store fails (the next sweep tries again).
 */
export async function sweepSilentRuns(store: Store, silenceMs: number): Promise<SweepResult> {
  return endActiveRuns(store, { type: "run.timed_out", error: SILENT, olderThanMs: silenceMs });
}

/**
 * End every run still active in the store with run.failed `server_restarted`, at once. Only for
 * a process that owns its store alone (the local stack on its own DATA_DIR, at start-up, before
 * it serves): any run still active then was left by a previous process that was killed, and
 * no workflow of this one can be running it. Runs end with their one terminal event, their
 * slots are freed, and their clients' streams end.
 * @returns the runs ended (`timedOut` holds them, whatever the type) and markers cleaned.
 * @throws StoreError subclasses when the store fails.
 */
export async function endOrphanedRuns(store: Store): Promise<SweepResult> {
  // Whatever the clocks say (one stepped back must not spare a run): every active run ends.
  return endActiveRuns(store, { type: "run.failed", error: ORPHANED, olderThanMs: Number.NEGATIVE_INFINITY });
}

async function endActiveRuns(
  store: Store,
  how: { type: "run.timed_out" | "run.failed"; error: typeof SILENT; olderThanMs: number },
): Promise<SweepResult> {
  const result: SweepResult = { timedOut: [], cleaned: [] };
  for (const { runId, createdAt } of await store.runs.listActive()) {
    const [run, last] = await Promise.all([store.runs.get(runId), store.events.last(runId)]);
    // Gone (expired or never fully created) or already ended: only the marker is left to remove.
    if (!run || (last && isTerminalType(last.type))) {
      await store.runs.unmarkActive(runId);
      result.cleaned.push(runId);
      continue;
    }
    const quietSince = Date.parse(last?.ts ?? createdAt);
    if (!(store.table.now() - quietSince > how.olderThanMs)) continue;
    // Only if nothing was appended since it was judged silent.
    if (await endRun(store, runId, { type: how.type, error: how.error, ifLastSeq: last?.seq ?? 0 })) {
      result.timedOut.push(runId);
    }
    // Otherwise the run moved (it is alive, or ended by itself): the next sweep looks again.
  }
  return result;
}
