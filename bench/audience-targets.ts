/**
 * The audience scenario's targets (bench/audience.ts), in the shape of the benchmark's other
 * targets: in the scalable mode (long-poll through Varnish), a run's store reads/s and origin
 * requests/s stay within 2× from 1 watcher to the most measured, and delivery at the most
 * watchers has p50 ≤ 60 ms and p99 ≤ 300 ms, every watcher getting every event.
 */
import type { AudienceCell, AudienceResults } from "./audience.ts";

/** One target: the requirement, what was measured (in words, with units), and whether it passed. */
export interface AudienceTarget {
  target: string;
  measured: string;
  pass: boolean;
}

/** Largest ratio allowed between a rate at the most watchers and at 1 (either way). */
export const FLAT_WITHIN = 2;
/** Delivery latency bounds at the most watchers (ms). */
export const P50_MAX_MS = 60;
export const P99_MAX_MS = 300;

const r1 = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : "–");

/** `b` over `a`, or its inverse when smaller (≥ 1; NaN when either is missing or 0). */
const ratio = (a: number, b: number) => (a > 0 && b > 0 ? Math.max(b / a, a / b) : Number.NaN);

function flat(
  name: string,
  unit: string,
  pick: (c: AudienceCell) => number,
  one?: AudienceCell,
  most?: AudienceCell,
) {
  const a = one ? pick(one) : Number.NaN;
  const b = most ? pick(most) : Number.NaN;
  const x = ratio(a, b);
  return {
    target: `long-poll through Varnish: ${name} for a run within ${FLAT_WITHIN}× from 1 to ${most?.watchers ?? "–"} watchers`,
    measured: `${r1(a)} ${unit} at 1, ${r1(b)} ${unit} at ${most?.watchers ?? "–"} (${Number.isFinite(x) ? x.toFixed(2) : "–"}×)`,
    pass: x <= FLAT_WITHIN,
  };
}

function latency(which: "p50" | "p99", bound: number, most?: AudienceCell): AudienceTarget {
  const value = most?.latency[which] ?? Number.NaN;
  const whole = most !== undefined && most.complete === most.watchers && most.missingDeltas === 0;
  return {
    target: `long-poll through Varnish: delivery ${which} ≤ ${bound} ms at ${most?.watchers ?? "–"} watchers (their own process)`,
    measured: `${r1(value)} ms; ${most?.complete ?? 0}/${most?.watchers ?? "–"} watchers complete, ${most?.missingDeltas ?? "–"} events missing`,
    pass: value <= bound && whole,
  };
}

/** The four targets from the scenario's results (all failing, "–", when it did not run). */
export function audienceTargets(results: AudienceResults | undefined): AudienceTarget[] {
  const poll = (results?.cells ?? []).filter((c) => c.mode === "long-poll" && c.notMeasured === undefined);
  const one = poll.find((c) => c.watchers === 1);
  const most = poll.at(-1);
  return [
    flat("store reads/s", "reads/s", (c) => c.storeReadsPerSecond, one, most),
    flat("origin requests/s", "req/s", (c) => c.originRequestsPerSecond, one, most),
    latency("p50", P50_MAX_MS, most),
    latency("p99", P99_MAX_MS, most),
  ];
}
