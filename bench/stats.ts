/** Percentiles and summaries of measured samples (ms unless named otherwise). */

/** The p-th percentile (0–100) of `samples` by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** p50, p95 and p99 of one repetition, and how many samples they come from. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

/** {@link Percentiles} of `samples`. */
export function percentiles(samples: readonly number[]): Percentiles {
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    n: samples.length,
  };
}

/** A figure over repeated runs: the median of the repetitions and their spread (min, max). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** The {@link Spread} of one figure measured once per repetition (NaN repetitions are left out). */
export function spread(values: readonly number[]): Spread {
  const real = values.filter((v) => Number.isFinite(v));
  return { median: percentile(real, 50), min: Math.min(...real), max: Math.max(...real), runs: real.length };
}

/** Per-percentile spreads over repetitions of {@link Percentiles}. */
export function spreadOf(reps: readonly Percentiles[]): { p50: Spread; p95: Spread; p99: Spread; n: number } {
  return {
    p50: spread(reps.map((r) => r.p50)),
    p95: spread(reps.map((r) => r.p95)),
    p99: spread(reps.map((r) => r.p99)),
    n: reps.reduce((sum, r) => sum + r.n, 0),
  };
}
