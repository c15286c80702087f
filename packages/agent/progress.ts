import type { RunStage } from "../events/index.ts";

/** A stage's share of the run's progress: `[from, to]` in percent (0–100). */
export type ProgressBand = readonly [from: number, to: number];

/**
 * Each stage's band of the run's 0–100, from the weights: in list order, a stage owns
 * weight / Σ weights of the bar, starting where the previous stage's band ended, so the bands
 * tile 0–100 and a run's progress only grows as it moves through its stages. Edges are exact
 * fractions (not rounded): {@link overallProgress} rounds the value it returns.
 * The built-in agent's weights (8/12/15/7/50/8) give 0–8, 8–20, 20–35, 35–42, 42–92, 92–100.
 * @param stages the agent's stages in run order; weights must be positive (checkAgent ensures it).
 * @returns the bands by stage name, in the same order.
 */
export function stageBands(stages: readonly RunStage[]): ReadonlyMap<string, ProgressBand> {
  const total = stages.reduce((sum, stage) => sum + stage.weight, 0);
  const bands = new Map<string, ProgressBand>();
  let before = 0;
  for (const stage of stages) {
    const from = (100 * before) / total;
    before += stage.weight;
    // The last edge is 100 exactly, whatever the floating-point sum of the weights did.
    const to = stage === stages.at(-1) ? 100 : (100 * before) / total;
    bands.set(stage.name, [from, to]);
  }
  return bands;
}

/**
 * Where `stage` sits in an agent's stage list: its 0-based `index`, the list's length `total`
 * (stage.started's `data`), and its progress `band`.
 * @throws RangeError when the list has no such stage (the runner only runs its agent's stages).
 */
export function stagePosition(
  stages: readonly RunStage[],
  stage: string,
): { index: number; total: number; band: ProgressBand } {
  const index = stages.findIndex((s) => s.name === stage);
  const band = stageBands(stages).get(stage);
  if (index < 0 || !band) throw new RangeError(`no stage ${stage} in the agent's stage list`);
  return { index, total: stages.length, band };
}

/** Overall percent (0–100) for `fraction` (0..1, clamped) of the way through `band`, rounded to 0.1. */
export function overallProgress(band: ProgressBand, fraction: number): number {
  const [from, to] = band;
  const f = Math.min(1, Math.max(0, fraction));
  return Math.round((from + (to - from) * f) * 10) / 10;
}
