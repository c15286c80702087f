/**
 * The benchmark's clients, in a process of their own so that parsing 500 streams does not
 * share a CPU queue with the server it measures (both read the same system clock).
 * Protocol: one {@link WatchPlan} per stdin line; one line of {@link WatchResult}[] (plan
 * order) per plan on stdout. The process lives for the whole benchmark, so a plan starts its
 * clients within milliseconds.
 *
 * - `sse`: `count` real SSE clients (fetch + eventsource-parser) on `url`; each records
 *   receive time − event `ts` for every event appended after its stream opened (earlier ones
 *   are a replay, not a live latency), and checks that the seqs it got are dense up to the
 *   terminal event (when `dense`).
 * - `poll`: `count` clients polling GET `url` (a run) every `intervalMs` until it ended; each
 *   records (time seen, lastSeq) whenever lastSeq changed: the bench maps seqs to append times.
 */
import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";

/** One group of identical clients. */
export type WatchTarget =
  | { kind: "sse"; label: string; url: string; count: number; dense: boolean }
  | { kind: "poll"; label: string; url: string; count: number; intervalMs: number };

/** What the watcher process is asked to do; `timeoutMs` bounds every client. Plans run concurrently, matched by `id`. */
export interface WatchPlan {
  id: number;
  targets: WatchTarget[];
  timeoutMs: number;
}

/** One plan's answer line: its id, the results per target, and this process's CPU time during it (ms). */
export interface WatchAnswer {
  id: number;
  results: WatchResult[];
  cpuMs: number;
}

/** What one group measured. Latencies in ms; `errors` are human-readable failures. */
export interface WatchResult {
  label: string;
  latencies: number[];
  /** poll only: [time seen (ms since epoch), lastSeq] whenever a client saw lastSeq change. */
  observations: Array<[number, number]>;
  clients: number;
  complete: number;
  errors: string[];
}

async function sseClient(url: string, dense: boolean, deadline: number, out: WatchResult) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
  const seqs: number[] = [];
  try {
    const res = await fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const opened = Date.now();
    const frames = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    for await (const frame of frames as unknown as AsyncIterable<EventSourceMessage>) {
      const now = Date.now();
      if (frame.event === "heartbeat" || frame.event === "snapshot") continue;
      const event = JSON.parse(frame.data) as { seq: number; ts: string; type: string };
      const appended = Date.parse(event.ts);
      if (appended >= opened) out.latencies.push(now - appended);
      seqs.push(event.seq);
      if (event.type.startsWith("run.") && event.type !== "run.queued" && event.type !== "run.started") {
        if (dense && seqs.some((s, i) => i > 0 && s !== (seqs[i - 1] as number) + 1))
          out.errors.push(`${url}: seqs not dense (${seqs.length} events)`);
        else out.complete++;
        return;
      }
    }
    out.errors.push(`${url}: ended without a terminal event after ${seqs.length} events`);
  } catch (err) {
    out.errors.push(`${url}: ${(err as Error).message} after ${seqs.length} events`);
  } finally {
    clearTimeout(timer);
  }
}

async function pollClient(url: string, intervalMs: number, deadline: number, out: WatchResult) {
  let last = -1;
  while (Date.now() < deadline) {
    const started = Date.now();
    try {
      const res = await fetch(url);
      const run = (await res.json()) as { lastSeq: number; status: string };
      const now = Date.now();
      if (run.lastSeq !== last) {
        out.observations.push([now, run.lastSeq]);
        last = run.lastSeq;
      }
      if (["completed", "failed", "cancelled", "timed_out"].includes(run.status)) {
        out.complete++;
        return;
      }
    } catch (err) {
      out.errors.push(`${url}: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
  }
  out.errors.push(`${url}: the run did not end in time`);
}

/** Run a plan in this process (the child's body; also usable in-process for small plans). */
export async function watch(plan: WatchPlan): Promise<WatchResult[]> {
  const deadline = Date.now() + plan.timeoutMs;
  const results = plan.targets.map((t) => ({
    label: t.label,
    latencies: [],
    observations: [],
    clients: t.count,
    complete: 0,
    errors: [],
  })) as WatchResult[];
  await Promise.all(
    plan.targets.flatMap((t, i) =>
      Array.from({ length: t.count }, () =>
        t.kind === "sse"
          ? sseClient(t.url, t.dense, deadline, results[i] as WatchResult)
          : pollClient(t.url, t.intervalMs, deadline, results[i] as WatchResult),
      ),
    ),
  );
  return results;
}

if (process.argv[1]?.endsWith("watchers.ts")) {
  const run = async (plan: WatchPlan) => {
    const cpu = process.cpuUsage();
    const results = await watch(plan);
    const used = process.cpuUsage(cpu);
    const answer: WatchAnswer = { id: plan.id, results, cpuMs: (used.user + used.system) / 1000 };
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  };
  let buffer = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) void run(JSON.parse(line) as WatchPlan);
    }
  }
}
