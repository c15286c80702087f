/**
 * The capacity model of docs/capacity.md, computed from the audience scenario's measured counts
 * (bench/audience.ts) and AWS's published limits and list prices. `npm run bench` rewrites the
 * model's tables in docs/capacity.md between its markers, so the document never states a number
 * the benchmark did not measure (or derive from a measurement and a limit named beside it).
 */
import type { AudienceCell, AudienceResults } from "./audience.ts";
import { MEMORY_GB, PRICES } from "./cost.ts";

/**
 * AWS limits the model divides by, each with its source.
 * - `partitionRcu`: read capacity units per second one partition serves (DynamoDB Developer
 *   Guide, "Partitions and data distribution": 3,000 RCU and 1,000 WCU per partition); a run's
 *   log is one partition key, and adaptive capacity cannot split one key's hot range further.
 * - `accountConcurrency`: concurrent Lambda executions per account and Region, default quota
 *   (Lambda Developer Guide, "Lambda quotas": 1,000).
 * - `streamReserved`: the stream function's reserved concurrency (infra/settings.ts, default 200).
 * - `cdnRequestsPerSecond`: requests per second per CloudFront distribution (CloudFront
 *   Developer Guide, "Quotas": 250,000).
 * - `streamBandwidthBytes`: a streamed response's rate after its first 6 MB (Lambda Developer
 *   Guide, "Response streaming": 2 MiB/s).
 */
export const LIMITS = {
  partitionRcu: 3000,
  accountConcurrency: 1000,
  streamReserved: 200,
  cdnRequestsPerSecond: 250_000,
  streamBandwidthBytes: 2 * 1024 * 1024,
} as const;

/**
 * Bytes on the wire the model assumes where the benchmark counts messages, not bytes:
 * - `padBatch`: one SSE batch under STREAM_FLUSH=pad (STREAM_PAD_BYTES 16,384 + 64; docs/api.md
 *   "Flush padding"), the Lambda default: every batch of frames is at least this big;
 * - `event`: one stored llm.delta event as JSON (≈ 300 bytes at the coalescer's 10 writes/s);
 * - `pollOverhead`: a long-poll response's status line, headers and JSON envelope.
 */
export const WIRE_BYTES = { padBatch: 16_448, event: 300, pollOverhead: 450 } as const;

/**
 * CloudFront list prices (us-east-1, checked 2026-11, as PRICES in cost.ts): HTTPS requests
 * ($0.0100 per 10,000, North America and Europe) and data transfer out to the internet (first
 * 10 TB, $0.085 per GB). Lambda Function URL data out is priced as EC2 data transfer ($0.09/GB).
 */
export const CDN_PRICES = { request: 0.01 / 10_000, cdnGb: 0.085, lambdaGb: 0.09 } as const;

/** One mode's model: per watcher and per run, from one measured cell (see {@link capacityModel}). */
export interface ModeModel {
  mode: AudienceCell["mode"];
  /** The audience of the cell the figures come from (SSE: one watcher; long-poll: the largest). */
  measuredAt: number;
  /** Lambda instances held: per watcher (SSE) or per run at the CDN's origin (long-poll). */
  concurrencyPerWatcher: number;
  concurrencyPerRun: number;
  /** Strongly consistent Query requests on the run's partition per second (each ≥ 1 RCU). */
  rcuPerWatcher: number;
  rcuPerRun: number;
  /** Bytes sent to one watcher per second while events flow. */
  bytesPerWatcherSecond: number;
  /** Dollars per 1,000 watcher-minutes while events flow (Lambda, DynamoDB, transfer, CDN). */
  dollarsPer1000WatcherMinutes: number;
  /** Largest number of watchers of one run on AWS, and the limit that sets it. */
  maxWatchers: number;
  bindingLimit: string;
}

/** The measured cells of `mode`, fewest watchers first. */
const measured = (cells: readonly AudienceCell[], mode: AudienceCell["mode"]) =>
  cells
    .filter((c) => c.mode === mode && !c.notMeasured && Number.isFinite(c.storeReadsPerSecond))
    .sort((a, b) => a.watchers - b.watchers);

/** SSE: one Lambda instance and one store poller per watcher, each padded batch sent to each. */
function sseModel(cell: AudienceCell): ModeModel {
  const rcuPerWatcher = cell.storeReadsPerSecond / cell.watchers;
  const bytes = cell.eventsPerSecond * WIRE_BYTES.padBatch;
  const perMinute = {
    lambda: 60 * MEMORY_GB.stream * PRICES.lambdaGbSecond,
    reads: 60 * rcuPerWatcher * PRICES.rru,
    transfer: ((60 * bytes) / 1e9) * CDN_PRICES.lambdaGb,
  };
  const byPartition = Math.floor(LIMITS.partitionRcu / rcuPerWatcher);
  const byConcurrency = LIMITS.streamReserved;
  return {
    mode: "sse",
    measuredAt: cell.watchers,
    concurrencyPerWatcher: 1,
    concurrencyPerRun: 0,
    rcuPerWatcher,
    rcuPerRun: 0,
    bytesPerWatcherSecond: bytes,
    dollarsPer1000WatcherMinutes: 1000 * (perMinute.lambda + perMinute.reads + perMinute.transfer),
    maxWatchers: Math.min(byPartition, byConcurrency),
    bindingLimit:
      byPartition <= byConcurrency
        ? `the partition's ${LIMITS.partitionRcu.toLocaleString("en-US")} RCU/s (${rcuPerWatcher.toFixed(1)} reads/s per watcher)`
        : `the stream's reserved concurrency (${byConcurrency})`,
  };
}

/** Long-poll behind a CDN: per run, the origin's polls; per watcher, CDN requests and bytes. */
function longPollModel(cell: AudienceCell): ModeModel {
  const requestsPerWatcher = cell.clientRequestsPerSecond / cell.watchers;
  const bytes = cell.eventsPerSecond * WIRE_BYTES.event + requestsPerWatcher * WIRE_BYTES.pollOverhead;
  const perWatcherMinute =
    60 * requestsPerWatcher * CDN_PRICES.request + ((60 * bytes) / 1e9) * CDN_PRICES.cdnGb;
  // Per run, shared by the whole audience: the origin's held instances and its store polls.
  const perRunMinute =
    60 * cell.originConcurrency * MEMORY_GB.stream * PRICES.lambdaGbSecond +
    60 * cell.storeReadsPerSecond * PRICES.rru;
  const byCdn = Math.floor(LIMITS.cdnRequestsPerSecond / Math.max(requestsPerWatcher, 1e-9));
  return {
    mode: "long-poll",
    measuredAt: cell.watchers,
    concurrencyPerWatcher: 0,
    concurrencyPerRun: cell.originConcurrency,
    rcuPerWatcher: 0,
    rcuPerRun: cell.storeReadsPerSecond,
    bytesPerWatcherSecond: bytes,
    dollarsPer1000WatcherMinutes: 1000 * perWatcherMinute + perRunMinute,
    maxWatchers: byCdn,
    bindingLimit: `CloudFront's ${LIMITS.cdnRequestsPerSecond.toLocaleString("en-US")} requests/s per distribution (${requestsPerWatcher.toFixed(2)} requests/s per watcher)`,
  };
}

/** The model of both modes, or undefined for a mode the benchmark did not measure. */
export function capacityModel(results: AudienceResults | undefined): {
  sse?: ModeModel;
  longPoll?: ModeModel;
} {
  const cells = results?.cells ?? [];
  // SSE per watcher: a lone watcher's rates. On AWS every watcher's invocation has its own CPU
  // and polls at that rate; on this 2-core machine a large SSE audience slows every poller down
  // (its reads per watcher fall), which says nothing about AWS.
  const sse = measured(cells, "sse")[0];
  // Long-poll per run: the largest audience measured, where collapsing is under the most load.
  const poll = measured(cells, "long-poll").at(-1);
  return { ...(sse ? { sse: sseModel(sse) } : {}), ...(poll ? { longPoll: longPollModel(poll) } : {}) };
}

const n = (value: number, digits = 1) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });

/** The model as the markdown table docs/capacity.md carries between its markers. */
export function renderCapacity(results: AudienceResults | undefined): string {
  const { sse, longPoll } = capacityModel(results);
  const row = (label: string, f: (m: ModeModel) => string) =>
    `| ${label} | ${sse ? f(sse) : "not measured"} | ${longPoll ? f(longPoll) : "not measured"} |`;
  return [
    "| one run streaming its answer (≈ 10 events/s) | SSE (a Function URL stream per watcher) | long-poll behind the CDN |",
    "| --- | --- | --- |",
    row("measured at (watchers)", (m) => n(m.measuredAt, 0)),
    row("Lambda instances held per watcher", (m) => n(m.concurrencyPerWatcher, 0)),
    row("Lambda instances held per run (the CDN's origin)", (m) => n(m.concurrencyPerRun, 0)),
    row("partition reads/s (≥ RCU/s) per watcher", (m) => n(m.rcuPerWatcher)),
    row("partition reads/s (≥ RCU/s) per run, whatever the audience", (m) => n(m.rcuPerRun)),
    row("bytes sent per watcher per second", (m) => n(m.bytesPerWatcherSecond, 0)),
    row("$ per 1,000 watcher-minutes", (m) => `$${m.dollarsPer1000WatcherMinutes.toFixed(4)}`),
    row("largest audience of one run on AWS", (m) => n(m.maxWatchers, 0)),
    row("the limit that sets it", (m) => m.bindingLimit),
  ].join("\n");
}

/** The markers docs/capacity.md keeps the generated table between. */
export const CAPACITY_MARKERS = {
  begin: "<!-- capacity-model:begin (npm run bench writes this table) -->",
  end: "<!-- capacity-model:end -->",
} as const;

/**
 * `doc` with the text between {@link CAPACITY_MARKERS} replaced by `table`.
 * @throws Error when the document lacks either marker (a hand edit removed them).
 */
export function withCapacityTable(doc: string, table: string): string {
  const begin = doc.indexOf(CAPACITY_MARKERS.begin);
  const end = doc.indexOf(CAPACITY_MARKERS.end);
  if (begin < 0 || end < begin) throw new Error("docs/capacity.md lacks the capacity-model markers");
  return `${doc.slice(0, begin + CAPACITY_MARKERS.begin.length)}\n\n${table}\n\n${doc.slice(end)}`;
}
