import { STAGES, type Stage } from "../events/index.ts";

/**
 * Share of overall progress (percent) each stage owns: [start, end]. Execution streams the
 * answer and takes longest, so it owns the widest band. The bands tile 0–100 in stage order.
 */
export const STAGE_BANDS: Record<Stage, readonly [number, number]> = {
  context: [0, 8],
  analyzing: [8, 20],
  planning: [20, 35],
  validation: [35, 42],
  execution: [42, 92],
  memory: [92, 100],
};

/** Overall percent for `fraction` (0..1) of the way through `stage`, rounded to 0.1. */
export function overallProgress(stage: Stage, fraction: number): number {
  const [from, to] = STAGE_BANDS[stage];
  const f = Math.min(1, Math.max(0, fraction));
  return Math.round((from + (to - from) * f) * 10) / 10;
}

/** Position of a stage in {@link STAGES} (0-based). */
export const stageIndex = (stage: Stage): number => STAGES.indexOf(stage);
