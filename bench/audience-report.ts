/**
 * The audience scenario's section of docs/benchmarks.md: the side-by-side table (watchers ×
 * mode: origin requests/s, store reads/s, delivery p50/p95/p99), its targets' PASS/FAIL lines,
 * and the details of each cell.
 */
import type { AudienceCell, AudienceResults } from "./audience.ts";
import { audienceTargets } from "./audience-targets.ts";

const r1 = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 10) / 10) : "–");
const pct = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 1000) / 10}%` : "–");
/** "polls: hit % (waited %) · miss %" from Varnish's counts; every poll is one hit or one miss. */
const cacheFigures = (v: { hits: number; waited: number; misses: number }) => {
  const polls = v.hits + v.misses;
  return `${polls}: ${pct(v.hits / polls)} (${pct(v.waited / polls)}) · ${pct(v.misses / polls)}`;
};
const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : "–");
const row = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
const table = (head: string[], rows: Array<Array<string | number>>) =>
  [row(head), row(head.map(() => "---")), ...rows.map(row)].join("\n");

/** Origin req/s, store reads/s, p50, p95, p99 of a cell ("not measured" cells: dashes with a note mark). */
const figures = (c: AudienceCell | undefined) =>
  !c || c.notMeasured
    ? ["not measured¹", "–", "–", "–", "–"]
    : [
        `${r1(c.originRequestsPerSecond)} (${c.originConcurrency} open)`,
        r1(c.storeReadsPerSecond),
        ms(c.latency.p50),
        ms(c.latency.p95),
        ms(c.latency.p99),
      ];

const detail = (c: AudienceCell) =>
  c.notMeasured
    ? [c.mode, c.watchers, "–", "–", "–", "–", "–", "–", "–", "–", "–", "–"]
    : [
        c.mode,
        c.watchers,
        r1(c.eventsPerSecond),
        r1(c.clientRequestsPerSecond),
        c.originConcurrency,
        c.varnish ? cacheFigures(c.varnish) : "–",
        c.latency.n,
        `${c.complete}/${c.watchers}`,
        c.missingDeltas,
        [c.cpuPercent.stack, c.cpuPercent.watchers, c.cpuPercent.varnish]
          .map((p) => `${Math.round(p)}%`)
          .join(" · "),
        `${Math.round(c.cpuPercent.other)}%`,
        c.errors.length,
      ];

/** The section's markdown (a short note when the results hold no audience scenario). */
export function renderAudience(results: AudienceResults | undefined): string {
  if (!results) return "## 6. Audience: SSE against long-poll through a caching proxy\n\nNot run.\n";
  const { sizes, cells } = results;
  const at = (mode: string, w: number) => cells.find((c) => c.mode === mode && c.watchers === w);
  const skipped = cells.filter((c) => c.notMeasured);
  return `## 6. Audience: SSE against long-poll through a caching proxy

One run streaming llm.delta events for ${sizes.windowSeconds} s per cell, watched by 1 to
${sizes.watchers.at(-1)} watchers in a process of their own, on a stack whose streams and polls
each read the store by themselves (\`STREAM_SHARE_POLLING=false\`: what each Lambda invocation
does). **SSE**: every watcher holds \`GET /runs/{id}/stream\` on the stack. **Long-poll**: every
watcher loops \`GET /runs/{id}/poll?after=N\` through Varnish (Debian's, started and stopped by the
benchmark, with the project's VCL), which collapses identical requests into one origin fetch.
Origin requests are counted by a counting proxy between Varnish and the stack (SSE: streams
opened, the stack being the origin), with the most the origin held open at once in brackets (on
AWS: concurrent invocations of the stream function); store reads are the read requests on the
run's partition at the SDK client; both per second of the window. Latency is each llm.delta's
receipt in the watcher process minus its \`ts\`, over all watchers. SSE watchers use fetch and
eventsource-parser; long-poll watchers a minimal HTTP/1.1 keep-alive client
(bench/http1-client.ts: node:http costs about 80 µs of CPU per request here, which at 10,000
requests/s would be the harness's cost, not the system's).

${table(
  [
    "watchers",
    "long-poll: origin req/s (most open)",
    "store reads/s",
    "p50",
    "p95",
    "p99",
    "SSE: origin req/s (open)",
    "store reads/s",
    "p50",
    "p95",
    "p99",
  ],
  sizes.watchers.map((w) => [w, ...figures(at("long-poll", w)), ...figures(at("sse", w))]),
)}

${audienceTargets(results)
  .map((t) => `- **${t.pass ? "PASS" : "FAIL"}** ${t.target}: ${t.measured}`)
  .join("\n")}
${skipped.map((c) => `\n¹ ${c.mode} at ${c.watchers} watchers: ${c.notMeasured}.`).join("\n")}

Each cell in detail: the run's llm.delta events per second, the watchers' requests per second,
the most requests the origin held at once (SSE: the open streams), Varnish's own counters from
the window's start until the last watcher ended (the polls it answered, each a hit or a miss: the
share answered from cache, in brackets the share of them first parked on the waiting list behind
a fetch in flight and answered from it, i.e. collapsed, and the share fetched from the origin),
latencies measured, watchers
that saw every event and the end, llm.delta receipts missing, CPU in the window of the stack's
process, the watchers' process and varnishd, and of everything else running on the machine then
(the machine's busy time less those three, from /proc: other processes, and the kernel's
interrupt time such as loopback networking), in % of one core (200% = both cores), errors:

${table(
  [
    "mode",
    "watchers",
    "events/s",
    "client req/s",
    "origin concurrency",
    "Varnish polls: hit (waited) · miss",
    "latencies",
    "complete",
    "missing",
    "CPU: stack · watchers · Varnish",
    "CPU: other work",
    "errors",
  ],
  cells.map(detail),
)}
${cells.flatMap((c) => c.errors.slice(0, 3).map((e) => `\n- ${c.mode} × ${c.watchers}: ${e}`)).join("")}
`;
}
