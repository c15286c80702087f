import type { RunProgress } from "./run-view.ts";
import type { StageEstimates } from "./types.ts";

/**
 * Estimated time until the run ends (ms), from the mean stage durations of recent runs
 * (GET /runs/{runId} `stageEstimates`): the estimates of the stages still pending, plus what
 * is left of the running stage's estimate (at least 0). Undefined when a stage still to run
 * has no estimate (no history yet); 0 once the run ended.
 * @param now the current time on the server's clock (ms since epoch).
 */
export function remainingMs(view: RunProgress, estimates: StageEstimates, now: number): number | undefined {
  if (view.terminal) return 0;
  let total = 0;
  for (const stage of view.stages) {
    if (stage.state === "done") continue;
    const estimate = estimates[stage.stage];
    if (!estimate) return undefined;
    const spent = stage.startedAt === undefined ? 0 : Math.max(0, now - stage.startedAt);
    total += Math.max(0, estimate.meanMs - spent);
  }
  return total;
}

/**
 * Elapsed time of the run (ms): from run.queued to its terminal event, or to `now` while it
 * runs. 0 before run.queued was seen.
 * @param now the current time on the server's clock (ms since epoch).
 */
export function elapsedMs(view: RunProgress, now: number): number {
  if (view.createdAt === undefined) return 0;
  return Math.max(0, (view.endedAt ?? now) - view.createdAt);
}

/** `ms` as a short human duration: `850 ms`, `12 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}
