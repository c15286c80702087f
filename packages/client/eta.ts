import type { RunProgress } from "./run-view.ts";
import type { StageEstimates } from "./types.ts";

/**
 * Estimated time until the run ends (ms), from the mean durations of its agent's stages in
 * recent runs (GET /runs/{runId} `stageEstimates`): over the view's stages (the run's own,
 * whatever they are), the estimates of the stages still pending, plus what is left of the
 * running stage's estimate (at least 0). Undefined when a stage still to run has no estimate
 * (no history yet) or the stages are not known yet; 0 once the run ended.
 * @param now the current time on the server's clock (ms since epoch).
 */
export function remainingMs(view: RunProgress, estimates: StageEstimates, now: number): number | undefined {
  if (view.terminal) return 0;
  if (view.stages.length === 0) return undefined;
  let total = 0;
  for (const stage of view.stages) {
    if (stage.state === "done") continue;
    // Own keys only: a stage may be called `constructor` (stage names are open).
    const estimate = Object.hasOwn(estimates, stage.stage) ? estimates[stage.stage] : undefined;
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
