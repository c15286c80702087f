import { isTerminalType } from "../events/index.ts";
import { endRun } from "./end-run.ts";
import type { ProgressStore } from "./progress-store.ts";

/** What one sweep did: runs ended as timed out, and markers of runs that had already ended. */
export interface SweepResult {
  timedOut: string[];
  cleaned: string[];
}

/** The safe error of a run ended by the sweeper. */
const SILENT = {
  code: "run_silent",
  message: "The run stopped making progress (its workflow is gone) and was ended.",
};

/**
 * End runs whose workflow vanished: an active run whose newest event (or, with no events, its
 * creation) is older than `silenceMs` gets run.timed_out; markers of runs that already ended
 * are removed. The local stack runs it at start-up and periodically (a killed process leaves
 * its runs behind); on AWS a scheduled function can run it. `silenceMs` must exceed the longest
 * stage time limit, or a slow but healthy stage would be ended.
 * @throws StoreError subclasses when the store fails (the next sweep tries again).
 */
export async function sweepSilentRuns(store: ProgressStore, silenceMs: number): Promise<SweepResult> {
  const result: SweepResult = { timedOut: [], cleaned: [] };
  for (const { runId, createdAt } of await store.listActive()) {
    const [run, last] = await Promise.all([store.getRun(runId), store.lastEvent(runId)]);
    // Gone (expired or never fully created) or already ended: only the marker is left to remove.
    if (!run || (last && isTerminalType(last.type))) {
      await store.unmarkActive(runId);
      result.cleaned.push(runId);
      continue;
    }
    const quietSince = Date.parse(last?.ts ?? createdAt);
    if (!(store.now() - quietSince > silenceMs)) continue;
    // Only if nothing was appended since it was judged silent.
    if (await endRun(store, runId, { type: "run.timed_out", error: SILENT, ifLastSeq: last?.seq ?? 0 })) {
      result.timedOut.push(runId);
    }
    // Otherwise the run moved (it is alive, or ended by itself): the next sweep looks again.
  }
  return result;
}
