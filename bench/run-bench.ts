import { cpus, totalmem } from "node:os";
import { findVarnishd } from "../local/cdn/index.ts";
import { audience } from "./audience.ts";
import { audienceTargets } from "./audience-targets.ts";
import { costOf } from "./cost.ts";
import { startBench } from "./harness.ts";
import {
  alternatives,
  type BenchSizes,
  deltaRate,
  idleReads,
  type LatencySample,
  latencyWithRuns,
  latencyWithWatchers,
  type RunRequests,
  requestsPerRun,
  sustained,
  timeToFirst,
} from "./scenarios.ts";
import { spread, spreadOf } from "./stats.ts";

/** The full benchmark's sizes (issue 8). */
export const FULL: BenchSizes = {
  repeats: 3,
  watchers: [1, 10, 100, 500],
  concurrentRuns: [1, 10, 100],
  tokenRates: [50, 500, 5000],
  sustainSeconds: 60,
  sustainConcurrency: 10,
  idleSeconds: 5,
  idleWatchers: 10,
  tokensPerSecond: 50,
  timeoutMs: 180_000,
  audience: { watchers: [1, 10, 100, 1000], windowSeconds: 10, sseGuardP99Ms: 5000, cellTimeoutMs: 180_000 },
};

/** Tiny sizes: every scenario runs, in about a minute. */
export const SMOKE: BenchSizes = {
  repeats: 1,
  watchers: [1, 3],
  concurrentRuns: [2],
  tokenRates: [50, 2000],
  sustainSeconds: 3,
  sustainConcurrency: 2,
  idleSeconds: 1,
  idleWatchers: 2,
  tokensPerSecond: 200,
  timeoutMs: 60_000,
  audience: { watchers: [1, 5], windowSeconds: 3, sseGuardP99Ms: 5000, cellTimeoutMs: 60_000 },
};

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function summarize(reps: LatencySample[]) {
  return {
    ...spreadOf(reps),
    clients: reps[0]?.clients ?? 0,
    complete: reps.reduce((n, r) => n + r.complete, 0),
    expected: reps.reduce((n, r) => n + r.clients, 0),
    errors: reps.flatMap((r) => r.errors),
  };
}

/** Run the whole benchmark; returns the results object written to results.json. */
export async function runBench(sizes: BenchSizes, command: string) {
  // The audience scenario needs varnishd: say so now, not after the other scenarios ran.
  findVarnishd();
  const started = Date.now();
  const results = await runScenarios(sizes, command);
  // On a stack of its own (store polling not shared), after the first one stopped.
  const withAudience = { ...results, audience: await audience(sizes.audience) };
  withAudience.meta.wallSeconds = (Date.now() - started) / 1000;
  withAudience.targets = evaluateTargets(withAudience, sizes);
  return withAudience;
}

/** Scenarios 1–5 and the cost, on the benchmark stack of bench/harness.ts. */
async function runScenarios(sizes: BenchSizes, command: string) {
  const bench = await startBench(sizes.tokensPerSecond);
  try {
    log(`stack at ${bench.stack.url}; ${sizes.repeats} repetition(s)`);
    const byWatchers: Record<number, LatencySample[]> = {};
    const byRuns: Record<number, LatencySample[]> = {};
    const first: Array<{ firstEventMs: number; firstDeltaMs: number }> = [];
    const active1: RunRequests[] = [];
    const active10: RunRequests[] = [];
    const idle: Array<{ readsPerWatcherPerSecond: number; emptyShare: number }> = [];
    const alts: Awaited<ReturnType<typeof alternatives>>[] = [];
    for (let rep = 0; rep < sizes.repeats; rep++) {
      for (const w of sizes.watchers) {
        log(`latency, ${w} watcher(s), repetition ${rep + 1}`);
        byWatchers[w] = [...(byWatchers[w] ?? []), await latencyWithWatchers(bench, w, sizes)];
      }
      for (const r of sizes.concurrentRuns) {
        log(`latency, ${r} concurrent run(s), repetition ${rep + 1}`);
        byRuns[r] = [...(byRuns[r] ?? []), await latencyWithRuns(bench, r, sizes)];
      }
      log("time to first event / delta");
      first.push(await timeToFirst(bench));
      log("store requests per run");
      active1.push(await requestsPerRun(bench, 1, sizes));
      active10.push(await requestsPerRun(bench, 10, sizes));
      log("idle watchers");
      idle.push(await idleReads(bench, sizes));
      log("alternatives");
      alts.push(await alternatives(bench, sizes));
    }
    const rates = [];
    for (const rate of sizes.tokenRates) {
      log(`llm.delta rate at ${rate} tokens/s`);
      rates.push(await deltaRate(bench, rate, sizes));
    }
    log(`sustained load, ${sizes.sustainConcurrency} runs in flight for ${sizes.sustainSeconds} s`);
    const sustain = await sustained(bench, sizes);

    const requestFigures = (reps: RunRequests[]) => ({
      watchers: reps[0]?.watchers ?? 0,
      events: spread(reps.map((r) => r.events)),
      writes: spread(reps.map((r) => r.counts.writes)),
      reads: spread(reps.map((r) => r.counts.reads)),
      emptyReads: spread(reps.map((r) => r.counts.emptyReads)),
      tailReads: spread(reps.map((r) => r.counts.tailReads)),
      wru: spread(reps.map((r) => r.counts.wru)),
      rru: spread(reps.map((r) => r.counts.rru)),
      eventPutsPerEvent: spread(reps.map((r) => r.eventPutsPerEvent)),
      writesPerEvent: spread(reps.map((r) => r.writesPerEvent)),
      streamedTokens: spread(reps.map((r) => r.streamedTokens)),
      deltaWritesPer1kTokens: spread(reps.map((r) => r.deltaWritesPer1kTokens)),
      writesPer1kTokens: spread(reps.map((r) => (r.counts.writes / r.streamedTokens) * 1000)),
      readsPer1kTokens: spread(reps.map((r) => (r.counts.reads / r.streamedTokens) * 1000)),
      tailReadsPerWatcherPerSecond: spread(reps.map((r) => r.tailReadsPerWatcherPerSecond)),
      runMs: spread(reps.map((r) => r.runMs)),
      byCommand: reps.at(-1)?.counts.byCommand ?? {},
    });
    const one = active1.at(-1) as RunRequests;
    const usage = {
      stageMs: spread(active1.map((r) => r.stageMs)).median,
      stageInvocations: one.stageInvocations,
      validations: 1,
      streamMs: spread(active1.map((r) => r.runMs)).median,
      watchers: 1,
      // POST /runs, and the typed client's GET /runs/{id} for the estimates.
      apiRequests: 2,
      wru: spread(active1.map((r) => r.counts.wru)).median,
      rru: spread(active1.map((r) => r.counts.rru)).median,
    };
    const results = {
      meta: {
        date: new Date().toISOString(),
        command,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        cpu: cpus()[0]?.model ?? "unknown",
        cores: cpus().length,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        sizes,
        /** The whole run's wall time (s), without `npm run build`; set at its end. */
        wallSeconds: undefined as number | undefined,
      },
      latencyByWatchers: Object.entries(byWatchers).map(([w, reps]) => ({
        watchers: Number(w),
        ...summarize(reps),
      })),
      latencyByRuns: Object.entries(byRuns).map(([r, reps]) => ({ runs: Number(r), ...summarize(reps) })),
      timeToFirst: {
        firstEventMs: spread(first.map((f) => f.firstEventMs)),
        firstDeltaMs: spread(first.map((f) => f.firstDeltaMs)),
      },
      requests: {
        oneWatcher: requestFigures(active1),
        tenWatchers: requestFigures(active10),
        idle: {
          watchers: sizes.idleWatchers,
          readsPerWatcherPerSecond: spread(idle.map((i) => i.readsPerWatcherPerSecond)),
          emptyShare: spread(idle.map((i) => i.emptyShare)),
        },
        deltaRates: rates,
      },
      sustained: sustain,
      alternatives: {
        stagecast: spreadOf(alts.map((a) => a.stagecast)),
        storePoll2s: spreadOf(alts.map((a) => a.storePoll2s)),
        direct: spreadOf(alts.map((a) => a.direct)),
        getPoll500ms: spreadOf(alts.map((a) => a.getPoll500ms)),
        getPollEventsSeenShare: spread(alts.map((a) => a.getPoll500ms.eventsSeen / a.events)),
        errors: alts.flatMap((a) => a.errors),
      },
      cost: { usage, ...costOf(usage) },
      targets: [] as Array<{ target: string; measured: string; pass: boolean }>,
    };
    return results;
  } finally {
    await bench.stop();
  }
}

/** The results object. */
export type BenchResults = Awaited<ReturnType<typeof runBench>>;

/** Issue 8's targets, each with what was measured and whether it passed. */
export function evaluateTargets(r: Omit<BenchResults, "targets">, sizes: BenchSizes) {
  const at100 = r.latencyByWatchers.find((l) => l.watchers === 100) ?? r.latencyByWatchers.at(-1);
  const most = r.latencyByWatchers.at(-1);
  const ms = (n: number) => `${Math.round(n * 10) / 10} ms`;
  const stagecastP50 = r.alternatives.stagecast.p50.median;
  const pollP50 = r.alternatives.getPoll500ms.p50.median;
  const idlePerWatcher = r.requests.idle.readsPerWatcherPerSecond.median;
  const maxDeltaRate = Math.max(...r.requests.deltaRates.map((d) => d.maxPerSecond));
  return [
    {
      target: `event latency p50 ≤ 25 ms with ${at100?.watchers} watchers`,
      measured: ms(at100?.p50.median ?? Number.NaN),
      pass: (at100?.p50.median ?? Number.POSITIVE_INFINITY) <= 25,
    },
    {
      target: `event latency p99 ≤ 100 ms with ${at100?.watchers} watchers`,
      measured: ms(at100?.p99.median ?? Number.NaN),
      pass: (at100?.p99.median ?? Number.POSITIVE_INFINITY) <= 100,
    },
    {
      target: "p50 at least 10× lower than polling GET /runs/{id} every 500 ms",
      measured: `${ms(stagecastP50)} vs ${ms(pollP50)} (${(pollP50 / stagecastP50).toFixed(1)}×)`,
      pass: pollP50 / stagecastP50 >= 10,
    },
    {
      target: "at most one store write per stored event in steady state",
      measured: `${r.requests.oneWatcher.eventPutsPerEvent.median.toFixed(3)} event puts per event`,
      pass: r.requests.oneWatcher.eventPutsPerEvent.median <= 1,
    },
    {
      target: `llm.delta writes ≤ 10 per second per run at ${sizes.tokenRates.join(", ")} tokens/s`,
      measured: `at most ${maxDeltaRate} in any second`,
      pass: maxDeltaRate <= 10,
    },
    {
      target: "an idle watcher ≤ 4 store reads per second",
      // A lone watcher pays its poller's whole rate (as every watcher does on Lambda); on one
      // process the watchers of a run share it.
      measured: `${(idlePerWatcher * r.requests.idle.watchers).toFixed(2)} reads/s alone, ${idlePerWatcher.toFixed(2)} each when ${r.requests.idle.watchers} share a run`,
      pass: idlePerWatcher * r.requests.idle.watchers <= 4,
    },
    {
      target: `${most?.watchers} concurrent watchers on one process without errors`,
      measured: `${most?.complete}/${most?.expected} complete, ${most?.errors.length} errors`,
      pass: most !== undefined && most.errors.length === 0 && most.complete === most.expected,
    },
    ...audienceTargets(r.audience),
  ];
}
