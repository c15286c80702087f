/**
 * The audience scenario: what one run costs, and how fast its events reach its watchers, as
 * the audience grows from 1 to 1,000 watchers, side by side in both delivery modes:
 * - `sse`: each watcher holds GET /runs/{id}/stream on the stack (SSE is never cached);
 * - `long-poll`: each watcher loops GET /runs/{id}/poll?after=N through Varnish, which
 *   collapses identical requests, so a run's audience shares each origin request.
 * The stack runs with `STREAM_SHARE_POLLING=false` (bench/audience-stack.ts): every stream or
 * poll request reads the store by itself, as each Lambda invocation does.
 *
 * Per cell (mode × watchers): one run of the audience agent waits at its gate while the
 * watchers (a process of their own, bench/audience-watchers.ts) connect; then it streams
 * llm.delta events (about 10/s) for the window. Measured over the window: origin requests/s
 * (long-poll: at the counting proxy behind Varnish; SSE: streams opened, as the stack is the
 * origin), store reads/s of the run's partition (at the SDK client), and each llm.delta's
 * delivery latency (receipt in the watcher process − the event's `ts`) over all watchers.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startVarnish, type Varnish } from "../local/cdn/index.ts";
import { type AudienceStack, startAudienceStack } from "./audience-stack.ts";
import type { AudiencePlan, AudienceWatchResult } from "./audience-watchers.ts";
import { machineBusyMs, treeCpuMs } from "./machine-cpu.ts";
import type { Percentiles } from "./stats.ts";

/** How big the audience scenario is. */
export interface AudienceSizes {
  /** Watcher counts, ascending (the full bench: 1, 10, 100, 1,000). */
  watchers: number[];
  /** The measured window of each cell (s). */
  windowSeconds: number;
  /**
   * SSE at a watcher count is measured only if SSE at the previous count ended with every
   * watcher complete and p99 at most this (ms); otherwise it is reported as not measured, with
   * the reason (each SSE stream polls the store by itself: the stack, dynalite and the
   * watchers share 2 cores).
   */
  sseGuardP99Ms: number;
  /** Longest one cell may take from its run's start to the last watcher's end (ms). */
  cellTimeoutMs: number;
}

/** The two delivery modes. */
export type AudienceMode = "sse" | "long-poll";

/** One cell's figures. Rates are per second of the window; latencies in ms. */
export interface AudienceCell {
  mode: AudienceMode;
  watchers: number;
  /** Why the cell was not measured (then every figure is NaN). */
  notMeasured?: string;
  windowSeconds: number;
  /** llm.delta events appended per second in the window (the run's own rate). */
  eventsPerSecond: number;
  /** Requests that reached the origin per second (requests/s). */
  originRequestsPerSecond: number;
  /** Most requests the origin held at once in the window (SSE: the open streams). */
  originConcurrency: number;
  /** Store read requests on the run's partition per second (reads/s). */
  storeReadsPerSecond: number;
  /** Requests the watchers sent per second (long-poll: to Varnish). */
  clientRequestsPerSecond: number;
  latency: Percentiles;
  /**
   * Long-poll only: Varnish's own counters (varnishstat) from the window's start until every
   * watcher ended (a session's counters reach varnishstat when it closes): poll requests answered
   * from cache (`hits`, MAIN.cache_hit), of them those first parked on the waiting list behind a
   * fetch in flight and answered from it (`waited`, MAIN.busy_sleep: the collapsed ones), and
   * fetched from the origin (`misses`, MAIN.cache_miss). Every poll is one hit or one miss.
   * (MAIN.client_req is not used: it counts a request woken from the waiting list once more.)
   */
  varnish?: { hits: number; waited: number; misses: number };
  /** Watchers that saw the run end with every event (dense seqs). */
  complete: number;
  /** llm.delta receipts missing across watchers (each should get every one). */
  missingDeltas: number;
  /**
   * CPU in the window, % of one core (200% = both cores of a 2-core machine): the benchmark's
   * process (the stack, dynalite, the origin counter), the watcher process, varnishd (long-poll;
   * its manager and cache processes), and everything else on the machine (bench/machine-cpu.ts:
   * the machine's busy time less those), which the measured processes shared the cores with.
   */
  cpuPercent: { stack: number; watchers: number; varnish: number; other: number };
  errors: string[];
}

/** The scenario's results: the sizes and one cell per mode and watcher count. */
export interface AudienceResults {
  sizes: AudienceSizes;
  cells: AudienceCell[];
}

/** The VCL Varnish runs with (the project's CDN configuration). */
export const AUDIENCE_VCL = fileURLToPath(new URL("../local/cdn/stagecast.vcl", import.meta.url));

/** varnishstat counters read for {@link AudienceCell.varnish}. */
const VARNISH_COUNTERS = ["MAIN.cache_hit", "MAIN.busy_sleep", "MAIN.cache_miss"] as const;

/** {@link AudienceCell.varnish} from two readings of Varnish's counters. */
function varnishCounts(before: Record<string, number>, after: Record<string, number>) {
  const delta = (c: (typeof VARNISH_COUNTERS)[number]) => (after[c] ?? 0) - (before[c] ?? 0);
  return {
    hits: delta("MAIN.cache_hit"),
    waited: delta("MAIN.busy_sleep"),
    misses: delta("MAIN.cache_miss"),
  };
}

const WATCHERS_SCRIPT = fileURLToPath(new URL("./audience-watchers.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** `promise`, or a rejection naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The watcher process for `plan`: resolves `ready` when all watchers are live, `done` with their result. */
function forkWatchers(plan: AudiencePlan) {
  const child: ChildProcess = fork(WATCHERS_SCRIPT, [JSON.stringify(plan)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const message = (type: string) =>
    new Promise<{ result?: AudienceWatchResult }>((resolve, reject) => {
      child.on("message", (m: { type: string; result?: AudienceWatchResult }) => {
        if (m.type === type) resolve(m);
      });
      child.once("exit", (code) => reject(new Error(`watcher process exited (${code}) before ${type}`)));
    });
  const ready = message("ready");
  const done = message("done");
  // Each is awaited later (or not at all when an earlier step failed): no unhandled rejection.
  ready.catch(() => undefined);
  done.catch(() => undefined);
  return {
    pid: child.pid as number,
    ready,
    done: done.then((m) => m.result as AudienceWatchResult),
    window: (fromMs: number, toMs: number) => child.send({ type: "window", fromMs, toMs }),
    /** Kill by pid if still running, and wait for its exit. */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, "SIGTERM");
      await exited;
    },
  };
}

/** The URL the watchers of `runId` use in `mode`: the stream on the stack, or the poll link through Varnish. */
async function watchUrl(a: AudienceStack, runId: string, mode: AudienceMode, varnish?: Varnish) {
  if (mode === "sse") return `${a.stack.url}/runs/${runId}/stream`;
  const link = new URL(await a.pollLink(runId));
  return `${(varnish as Varnish).url}${link.pathname}${link.search}`;
}

/** The run's partition key in the table (packages/store keys.ts: `RUN#<runId>`): its events and run item. */
const runPk = (runId: string) => `RUN#${runId}`;

/** What the meters read at one instant: time, the run's store reads, CPU (ms) of each process and the machine. */
function meters(a: AudienceStack, runId: string, pids: { watchers: number; varnish?: number }) {
  const own = process.cpuUsage();
  return {
    at: Date.now(),
    reads: a.counter.counts.readsByPk[runPk(runId)] ?? 0,
    stackMs: (own.user + own.system) / 1000,
    watchersMs: treeCpuMs(pids.watchers),
    varnishMs: pids.varnish === undefined ? 0 : treeCpuMs(pids.varnish),
    machineMs: machineBusyMs(),
  };
}

/** {@link AudienceCell.cpuPercent} between two readings of {@link meters}. */
function cpuPercent(before: ReturnType<typeof meters>, after: ReturnType<typeof meters>) {
  const span = Math.max(1, after.at - before.at);
  const stack = after.stackMs - before.stackMs;
  const watchers = after.watchersMs - before.watchersMs;
  const varnish = after.varnishMs - before.varnishMs;
  const other = after.machineMs - before.machineMs - stack - watchers - varnish;
  const pct = (ms: number) => (ms / span) * 100;
  return {
    stack: pct(stack),
    watchers: pct(watchers),
    varnish: pct(varnish),
    other: pct(Math.max(0, other)),
  };
}

/**
 * Measure one cell: `watchers` watchers of a fresh run in `mode`.
 * @throws when the watchers do not connect or finish within `cellTimeoutMs`, or the run does not
 *   end (the run's gate is opened for 0 ms then, so the run ends and the next cell can start).
 */
export async function measureCell(
  a: AudienceStack,
  mode: AudienceMode,
  watchers: number,
  sizes: AudienceSizes,
  varnish?: Varnish,
): Promise<AudienceCell> {
  const windowMs = sizes.windowSeconds * 1000;
  await a.stack.workflow.idle();
  const runId = await a.startRun();
  await within(a.gate.waiting(runId), 30_000, "the audience run's stage");
  let opened: number | undefined;
  const child = forkWatchers({
    mode,
    url: await watchUrl(a, runId, mode, varnish),
    count: watchers,
    timeoutMs: sizes.cellTimeoutMs,
  });
  try {
    await within(child.ready, sizes.cellTimeoutMs, `${watchers} ${mode} watchers connecting`);
    await sleep(1000);
    const cacheBefore = await varnish?.stats(VARNISH_COUNTERS);
    const pids = { watchers: child.pid, ...(varnish ? { varnish: varnish.pid } : {}) };
    const before = meters(a, runId, pids);
    opened = a.gate.open(runId, windowMs);
    child.window(opened, opened + windowMs);
    await sleep(windowMs);
    const after = meters(a, runId, pids);
    const result = await within(child.done, sizes.cellTimeoutMs, `${watchers} ${mode} watchers finishing`);
    await child.stop();
    const cacheAfter = await varnish?.stats(VARNISH_COUNTERS);
    await within(a.ended(runId), 30_000, "the audience run's end");
    const cell = cellOf(a, { mode, watchers, runId, windowMs, before, after, opened, result });
    if (mode !== "long-poll" || !cacheBefore || !cacheAfter) return cell;
    return { ...cell, varnish: varnishCounts(cacheBefore, cacheAfter) };
  } finally {
    if (opened === undefined) a.gate.open(runId, 0);
    await child.stop();
  }
}

/** A cell's figures from the meters read at the window's ends and the watchers' result. */
function cellOf(
  a: AudienceStack,
  m: {
    mode: AudienceMode;
    watchers: number;
    runId: string;
    windowMs: number;
    opened: number;
    before: ReturnType<typeof meters>;
    after: ReturnType<typeof meters>;
    result: AudienceWatchResult;
  },
): AudienceCell {
  const seconds = (m.after.at - m.before.at) / 1000;
  const deltas = a.events(m.runId).filter((e) => {
    const ts = Date.parse(e.ts);
    return e.type === "llm.delta" && ts >= m.opened && ts < m.opened + m.windowMs;
  }).length;
  const origin = a.origin.window(m.opened, m.opened + m.windowMs);
  const sse = m.mode === "sse";
  return {
    mode: m.mode,
    watchers: m.watchers,
    windowSeconds: m.windowMs / 1000,
    eventsPerSecond: deltas / (m.windowMs / 1000),
    originRequestsPerSecond: (sse ? m.result.requestsInWindow : origin.requests) / (m.windowMs / 1000),
    originConcurrency: sse ? m.watchers : origin.maxInFlight,
    storeReadsPerSecond: (m.after.reads - m.before.reads) / seconds,
    clientRequestsPerSecond: m.result.requestsInWindow / (m.windowMs / 1000),
    latency: m.result.latency,
    complete: m.result.complete,
    missingDeltas: m.result.missingDeltas,
    cpuPercent: cpuPercent(m.before, m.after),
    errors: m.result.errors,
  };
}

/** A cell that was not measured, and why. */
export function notMeasured(
  mode: AudienceMode,
  watchers: number,
  why: string,
  sizes: AudienceSizes,
): AudienceCell {
  const nan = Number.NaN;
  return {
    mode,
    watchers,
    notMeasured: why,
    windowSeconds: sizes.windowSeconds,
    eventsPerSecond: nan,
    originRequestsPerSecond: nan,
    originConcurrency: nan,
    storeReadsPerSecond: nan,
    clientRequestsPerSecond: nan,
    latency: { p50: nan, p95: nan, p99: nan, n: 0 },
    complete: 0,
    missingDeltas: 0,
    cpuPercent: { stack: nan, watchers: nan, varnish: nan, other: nan },
    errors: [],
  };
}

/** Why SSE at `watchers` is not measured after `previous` (undefined: it is). */
function sseGuard(
  previous: AudienceCell | undefined,
  watchers: number,
  sizes: AudienceSizes,
): string | undefined {
  if (!previous) return undefined;
  if (previous.notMeasured) return `SSE at ${previous.watchers} watchers was not measured either`;
  const healthy = previous.complete === previous.watchers && previous.latency.p99 <= sizes.sseGuardP99Ms;
  if (healthy) return undefined;
  const each = previous.storeReadsPerSecond / previous.watchers;
  return (
    `at ${previous.watchers} SSE watchers ${previous.complete}/${previous.watchers} completed with p99 ` +
    `${Math.round(previous.latency.p99)} ms (the guard: every watcher complete and p99 ≤ ${sizes.sseGuardP99Ms} ms), ` +
    `so ${watchers} would only saturate this machine further. Each SSE stream polls the store by itself: ` +
    `${Math.round(each)} reads/s per watcher measured there, so ${watchers} watchers would ask about ` +
    `${Math.round(each * watchers)} reads/s (× ${watchers / previous.watchers})`
  );
}

/** One cell, or a not-measured cell saying why when it failed (the error is logged). */
async function cellOrFailure(
  a: AudienceStack,
  mode: AudienceMode,
  watchers: number,
  sizes: AudienceSizes,
  varnish?: Varnish,
): Promise<AudienceCell> {
  try {
    return await measureCell(a, mode, watchers, sizes, varnish);
  } catch (err) {
    log(`audience: ${mode} with ${watchers} watcher(s) failed: ${(err as Error).message}`);
    return notMeasured(mode, watchers, `failed: ${(err as Error).message}`, sizes);
  }
}

/** Run every cell: long-poll through Varnish first (it is started and stopped here), then SSE. */
export async function audience(sizes: AudienceSizes): Promise<AudienceResults> {
  const a = await startAudienceStack();
  const cells: AudienceCell[] = [];
  try {
    log(`audience: stack at ${a.stack.url}, store polling not shared; starting Varnish`);
    const varnish = await startVarnish({
      vclPath: AUDIENCE_VCL,
      backend: { host: a.origin.host, port: a.origin.port },
    });
    try {
      for (const w of sizes.watchers) {
        log(`audience: long-poll through Varnish, ${w} watcher(s), ${sizes.windowSeconds} s window`);
        cells.push(await cellOrFailure(a, "long-poll", w, sizes, varnish));
      }
    } finally {
      await varnish.stop();
    }
    let previous: AudienceCell | undefined;
    for (const w of sizes.watchers) {
      const skip = sseGuard(previous, w, sizes);
      log(`audience: SSE, ${w} watcher(s)${skip ? ": not measured" : `, ${sizes.windowSeconds} s window`}`);
      previous = skip ? notMeasured("sse", w, skip, sizes) : await cellOrFailure(a, "sse", w, sizes);
      cells.push(previous);
    }
    return { sizes, cells };
  } finally {
    await a.stop();
  }
}
