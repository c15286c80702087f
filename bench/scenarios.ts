/**
 * The benchmark's scenarios (issue 8). Each takes the running {@link Bench} and the sizes, and
 * returns plain numbers; main.ts repeats them and summarizes. Latencies are ms from the
 * store's append (the event's `ts`, set by the writer) to the client's receipt, on the one
 * system clock both processes read.
 */
import { createClient, type EventOf } from "../packages/client/index.ts";
import type { AudienceSizes } from "./audience.ts";
import type { Bench } from "./harness.ts";
import type { StoreCounts } from "./instrument.ts";
import { type Percentiles, percentiles } from "./stats.ts";
import type { WatchResult } from "./watchers.ts";

/** How big each scenario is (the full bench, or the smoke run in the tests). */
export interface BenchSizes {
  repeats: number;
  watchers: number[];
  concurrentRuns: number[];
  tokenRates: number[];
  sustainSeconds: number;
  sustainConcurrency: number;
  idleSeconds: number;
  idleWatchers: number;
  /** The embedded model's fixed rate for every scenario but the token-rate sweep (tokens/s). */
  tokensPerSecond: number;
  /** Longest a client may wait for a run to end (ms). */
  timeoutMs: number;
  /** The audience scenario (bench/audience.ts): SSE and long-poll through Varnish, 1 to 1,000 watchers. */
  audience: AudienceSizes;
}

/** A question whose offline answer takes a few seconds at 50 tokens/s (several llm.delta events). */
export const QUESTION =
  "How do Step Functions and Lambda stream the progress of a long agent run to a browser?";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streamUrl = (bench: Bench, runId: string) => `${bench.stack.url}/runs/${runId}/stream`;

/** One latency measurement: percentiles, clients that saw their run to the end, and errors. */
export interface LatencySample extends Percentiles {
  clients: number;
  complete: number;
  errors: string[];
}

function sample(results: WatchResult[]): LatencySample {
  return {
    ...percentiles(results.flatMap((r) => r.latencies)),
    clients: results.reduce((n, r) => n + r.clients, 0),
    complete: results.reduce((n, r) => n + r.complete, 0),
    errors: results.flatMap((r) => r.errors).slice(0, 20),
  };
}

/** Scenario 1a: `watchers` clients on one run. */
export async function latencyWithWatchers(
  bench: Bench,
  watchers: number,
  sizes: BenchSizes,
): Promise<LatencySample> {
  const runId = await bench.startRun(QUESTION);
  const answer = await bench.watch({
    targets: [
      { kind: "sse", label: "stagecast", url: streamUrl(bench, runId), count: watchers, dense: true },
    ],
    timeoutMs: sizes.timeoutMs,
  });
  await bench.ended(runId);
  return sample(answer.results);
}

/** Scenario 1b: `runs` concurrent runs, one client each. */
export async function latencyWithRuns(bench: Bench, runs: number, sizes: BenchSizes): Promise<LatencySample> {
  const ids = await Promise.all(Array.from({ length: runs }, () => bench.startRun(QUESTION)));
  const answer = await bench.watch({
    targets: ids.map((id) => ({
      kind: "sse" as const,
      label: id,
      url: streamUrl(bench, id),
      count: 1,
      dense: true,
    })),
    timeoutMs: sizes.timeoutMs,
  });
  await Promise.all(ids.map((id) => bench.ended(id)));
  return sample(answer.results);
}

/** Scenario 2: POST /runs → first event, and → first llm.delta, at a client (ms). */
export async function timeToFirst(bench: Bench): Promise<{ firstEventMs: number; firstDeltaMs: number }> {
  const client = createClient({ baseUrl: bench.stack.url });
  const t0 = performance.now();
  const { runId } = await client.startRun({ question: QUESTION });
  let firstEventMs = Number.NaN;
  let firstDeltaMs = Number.NaN;
  for await (const event of client.subscribe(runId)) {
    const at = performance.now() - t0;
    if (Number.isNaN(firstEventMs)) firstEventMs = at;
    if (event.type === "llm.delta" && Number.isNaN(firstDeltaMs)) firstDeltaMs = at;
  }
  return { firstEventMs, firstDeltaMs };
}

/** Store requests of one run, with what they are per stored event and per 1,000 streamed tokens. */
export interface RunRequests {
  watchers: number;
  counts: StoreCounts;
  events: number;
  deltas: number;
  /** Completion tokens of the execution stage: the answer streamed as llm.delta. */
  streamedTokens: number;
  eventPutsPerEvent: number;
  writesPerEvent: number;
  deltaWritesPer1kTokens: number;
  tailReadsPerWatcherPerSecond: number;
  runMs: number;
  /** Sum of the stages' durations (ms): what the stage function is billed for. */
  stageMs: number;
  /** Stage Task invocations (attempts): Lambda requests of the stage function. */
  stageInvocations: number;
}

/** Scenario 3a: every store request of one run (start to the last statistics write), with `watchers` active clients. */
export async function requestsPerRun(
  bench: Bench,
  watchers: number,
  sizes: BenchSizes,
): Promise<RunRequests> {
  await bench.stack.workflow.idle();
  bench.counter.reset();
  const t0 = Date.now();
  const runId = await bench.startRun(QUESTION);
  await bench.watch({
    targets: [{ kind: "sse", label: "active", url: streamUrl(bench, runId), count: watchers, dense: true }],
    timeoutMs: sizes.timeoutMs,
  });
  const terminal = await bench.ended(runId);
  const runMs = Date.parse(terminal.ts) - t0;
  await bench.stack.workflow.idle();
  const counts = structuredClone(bench.counter.counts);
  const events = [...(bench.appended.get(runId)?.values() ?? [])];
  const completed = terminal.type === "run.completed" ? (terminal as EventOf<"run.completed">) : undefined;
  const streamedTokens = completed?.data.usageByStage.execution?.completionTokens ?? 0;
  const deltas = events.filter((e) => e.type === "llm.delta").length;
  const stageEvents = events.filter((e) => e.type === "stage.completed") as EventOf<"stage.completed">[];
  return {
    watchers,
    counts,
    events: events.length,
    deltas,
    streamedTokens,
    eventPutsPerEvent: counts.eventPuts / events.length,
    writesPerEvent: counts.writes / events.length,
    deltaWritesPer1kTokens: streamedTokens ? (deltas / streamedTokens) * 1000 : Number.NaN,
    tailReadsPerWatcherPerSecond: counts.tailReads / watchers / (runMs / 1000),
    runMs,
    stageMs: stageEvents.reduce((sum, e) => sum + e.data.durationMs, 0),
    stageInvocations: events.filter((e) => e.type === "stage.started").length,
  };
}

/** Scenario 3b: store reads per second of idle watchers (a run whose model stalls). */
export async function idleReads(
  bench: Bench,
  sizes: BenchSizes,
): Promise<{ readsPerWatcherPerSecond: number; emptyShare: number }> {
  await bench.knobs({ stallNext: { count: 1, ms: (sizes.idleSeconds + 30) * 1000 } });
  const runId = await bench.startRun(QUESTION);
  // Wait for the stall: the analyzing stage's model call, after which nothing is appended.
  while (![...(bench.appended.get(runId)?.values() ?? [])].some((e) => e.stage === "analyzing"))
    await sleep(20);
  await sleep(300);
  const watching = bench.watch({
    targets: [
      { kind: "sse", label: "idle", url: streamUrl(bench, runId), count: sizes.idleWatchers, dense: true },
    ],
    timeoutMs: sizes.timeoutMs,
  });
  // Let the streams settle into their idle poll, then count a window.
  await sleep(1500);
  bench.counter.reset();
  await sleep(sizes.idleSeconds * 1000);
  const { tailReads, emptyReads, reads } = bench.counter.counts;
  await fetch(`${bench.stack.url}/runs/${runId}/cancel`, { method: "POST" });
  await watching;
  await bench.ended(runId);
  await bench.knobs({ stallNext: { count: 0, ms: 0 } });
  return {
    readsPerWatcherPerSecond: tailReads / sizes.idleWatchers / sizes.idleSeconds,
    emptyShare: emptyReads / reads,
  };
}

/** Scenario 3c: llm.delta events per second of one run at a given model token rate. */
export async function deltaRate(bench: Bench, tokensPerSecond: number, sizes: BenchSizes) {
  await bench.knobs({ tokensPerSecond });
  const runId = await bench.startRun(QUESTION);
  await bench.watch({
    targets: [{ kind: "sse", label: "rate", url: streamUrl(bench, runId), count: 1, dense: true }],
    timeoutMs: sizes.timeoutMs,
  });
  await bench.ended(runId);
  await bench.knobs({ tokensPerSecond: sizes.tokensPerSecond });
  const times = [...(bench.appended.get(runId)?.values() ?? [])]
    .filter((e) => e.type === "llm.delta")
    .map((e) => Date.parse(e.ts));
  // The most deltas any one-second window held.
  let maxPerSecond = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[j] as number) >= 1000) j++;
    maxPerSecond = Math.max(maxPerSecond, i - j + 1);
  }
  return { tokensPerSecond, deltas: times.length, maxPerSecond };
}

/** Scenario 4: keep `sustainConcurrency` runs in flight, one client each, for `sustainSeconds`. */
export async function sustained(bench: Bench, sizes: BenchSizes) {
  const until = Date.now() + sizes.sustainSeconds * 1000;
  const cpu = process.cpuUsage();
  const t0 = Date.now();
  let completed = 0;
  let events = 0;
  let errors = 0;
  let clientCpuMs = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  const lane = async () => {
    while (Date.now() < until) {
      const runId = await bench.startRun(QUESTION);
      const answer = await bench.watch({
        targets: [{ kind: "sse", label: runId, url: streamUrl(bench, runId), count: 1, dense: true }],
        timeoutMs: sizes.timeoutMs,
      });
      const terminal = await bench.ended(runId);
      clientCpuMs += answer.cpuMs;
      errors += answer.results.reduce((n, r) => n + r.errors.length, 0);
      if (terminal.type === "run.completed") completed++;
      events += bench.appended.get(runId)?.size ?? 0;
    }
  };
  await Promise.all(Array.from({ length: sizes.sustainConcurrency }, lane));
  clearInterval(sampler);
  const wallMs = Date.now() - t0;
  const used = process.cpuUsage(cpu);
  const memory = process.memoryUsage();
  return {
    concurrency: sizes.sustainConcurrency,
    wallSeconds: wallMs / 1000,
    runsCompleted: completed,
    runsPerMinute: (completed / wallMs) * 60_000,
    eventsPerSecond: (events / wallMs) * 1000,
    serverCpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100,
    clientCpuPercent: (clientCpuMs / wallMs) * 100,
    peakRssMb: peakRss / 2 ** 20,
    heapUsedMb: memory.heapUsed / 2 ** 20,
    errors,
  };
}

/** Scenario 5: one run watched by Stagecast's stream, a 2-s polling stream, the direct stream and a 500-ms GET poller. */
export async function alternatives(bench: Bench, sizes: BenchSizes) {
  const runId = await bench.startRun(QUESTION);
  const answer = await bench.watch({
    targets: [
      { kind: "sse", label: "stagecast", url: streamUrl(bench, runId), count: 1, dense: true },
      {
        kind: "sse",
        label: "store-poll-2s",
        url: `${bench.slowStreamUrl}/runs/${runId}/stream`,
        count: 1,
        dense: true,
      },
      {
        kind: "sse",
        label: "direct",
        url: `${bench.directUrl}/runs/${runId}/direct`,
        count: 1,
        dense: false,
      },
      {
        kind: "poll",
        label: "get-poll-500ms",
        url: `${bench.stack.url}/runs/${runId}`,
        count: 1,
        intervalMs: 500,
      },
    ],
    timeoutMs: sizes.timeoutMs,
  });
  await bench.ended(runId);
  const log = bench.appended.get(runId) ?? new Map();
  const byLabel = Object.fromEntries(answer.results.map((r) => [r.label, r]));
  const poll = byLabel["get-poll-500ms"] as WatchResult;
  // A poller learns that an event happened at its first poll showing that seq or a later one
  // (it sees only the newest event's message and progress): that is the event's latency.
  const firstSeen = poll.observations[0]?.[0] ?? Number.POSITIVE_INFINITY;
  const pollLatencies = [...log.values()]
    .filter((e) => Date.parse(e.ts) >= firstSeen)
    .map((e) => {
      const seen = poll.observations.find(([, seq]) => seq >= e.seq)?.[0];
      return seen === undefined ? Number.NaN : seen - Date.parse(e.ts);
    })
    .filter((ms) => Number.isFinite(ms));
  return {
    events: log.size,
    stagecast: percentiles((byLabel.stagecast as WatchResult).latencies),
    storePoll2s: percentiles((byLabel["store-poll-2s"] as WatchResult).latencies),
    direct: percentiles((byLabel.direct as WatchResult).latencies),
    getPoll500ms: { ...percentiles(pollLatencies), eventsSeen: poll.observations.length },
    errors: answer.results.flatMap((r) => r.errors),
  };
}
