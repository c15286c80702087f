/**
 * The audience scenario's watchers, in a process of their own (forked with IPC by
 * bench/audience.ts), so that 1,000 clients do not share an event loop with the stack they
 * measure; both read the same system clock.
 *
 * Protocol (process.send / process.on("message")):
 * 1. argv[2] is the {@link AudiencePlan} as JSON; the process opens `count` watchers of one run.
 * 2. → `{ type: "ready" }` once every watcher is live: an SSE stream got its response headers; a
 *    long-poll watcher got its first page and sent its next request.
 * 3. ← `{ type: "window", fromMs, toMs }`: the measured window (ms since epoch), for counting
 *    the requests the watchers sent in it.
 * 4. → `{ type: "done", result }` ({@link AudienceWatchResult}) when every watcher saw the run
 *    end (or the plan's timeout passed); then the process exits.
 *
 * Latency is receipt time − the event's `ts` (set by the writer when its append started), for
 * `llm.delta` events only: the audience agent appends them while every watcher is live.
 */
import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";
import { Http1Connection } from "./http1-client.ts";
import { type Percentiles, percentiles } from "./stats.ts";

/** What the watcher process is asked to do. */
export interface AudiencePlan {
  mode: "sse" | "long-poll";
  /** SSE: the run's stream URL. Long-poll: the run's poll link (through the cache), without `after`. */
  url: string;
  /** Watchers of the run. */
  count: number;
  /** Longest the whole plan may take (ms): watchers still open then are ended and counted incomplete. */
  timeoutMs: number;
}

/** What the watchers measured. Latencies in ms; `errors` are human-readable failures (at most 20). */
export interface AudienceWatchResult {
  latency: Percentiles;
  /** Watchers that saw the run's terminal event with every seq before it (dense). */
  complete: number;
  /** llm.delta events each watcher should have seen (the most any watcher saw), and how many receipts were missing across watchers. */
  deltasPerWatcher: number;
  missingDeltas: number;
  /** Requests the watchers sent in the window (SSE: streams opened; long-poll: GETs to the cache). */
  requestsInWindow: number;
  errors: string[];
}

interface RunEventLike {
  seq: number;
  ts: string;
  type: string;
}

/**
 * What every watcher of a plan adds to: latencies (ms) of the llm.delta events received, llm.delta
 * events seen per watcher, request send times (ms since epoch), complete watchers, errors.
 */
export interface Tally {
  latencies: number[];
  deltasSeen: number[];
  requestTimes: number[];
  complete: number;
  errors: string[];
}

const isTerminal = (type: string) =>
  type.startsWith("run.") && type !== "run.queued" && type !== "run.started";

/** One watcher's own record: the seqs it got, in order, and how many were llm.delta. */
interface Seen {
  seqs: number[];
  deltas: number;
}

/** Record one received event (received at `now`, ms since epoch); true when it ends the run. */
function receive(event: RunEventLike, now: number, tally: Tally, seen: Seen): boolean {
  if (event.type === "llm.delta") {
    tally.latencies.push(now - Date.parse(event.ts));
    seen.deltas++;
  }
  seen.seqs.push(event.seq);
  return isTerminal(event.type);
}

/** The run ended for this watcher: complete when its seqs are dense. */
function finish(url: string, seen: Seen, tally: Tally): void {
  const { seqs } = seen;
  if (seqs.every((s, i) => i === 0 || s === (seqs[i - 1] as number) + 1)) tally.complete++;
  else tally.errors.push(`${url}: seqs not dense (${seqs.length} events)`);
}

async function sseWatcher(url: string, signal: AbortSignal, live: () => void, tally: Tally): Promise<void> {
  const seen: Seen = { seqs: [], deltas: 0 };
  let opened = false;
  try {
    tally.requestTimes.push(Date.now());
    const res = await fetch(url, { headers: { accept: "text/event-stream" }, signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    opened = true;
    live();
    const frames = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    for await (const frame of frames as unknown as AsyncIterable<EventSourceMessage>) {
      const now = Date.now();
      if (frame.event === "heartbeat" || frame.event === "snapshot" || frame.event === "reconnect") continue;
      if (receive(JSON.parse(frame.data) as RunEventLike, now, tally, seen)) return finish(url, seen, tally);
    }
    tally.errors.push(`${url}: ended without a terminal event after ${seen.seqs.length} events`);
  } catch (err) {
    tally.errors.push(`${url}: ${(err as Error).message} after ${seen.seqs.length} events`);
  } finally {
    if (!opened) live();
    tally.deltasSeen.push(seen.deltas);
  }
}

/** A poll page's body. */
interface PollPage {
  events: RunEventLike[];
  next: number;
  ended: boolean;
}

async function pollWatcher(link: string, signal: AbortSignal, live: () => void, tally: Tally): Promise<void> {
  const seen: Seen = { seqs: [], deltas: 0 };
  const url = new URL(link);
  // The link's own query (the token) first, then the cursor: every watcher sends the same URL.
  const base = `${url.pathname}${url.search ? `${url.search}&` : "?"}after=`;
  const connection = new Http1Connection(url.hostname, Number(url.port));
  const abort = () => connection.close();
  signal.addEventListener("abort", abort);
  let after = 0;
  let first = true;
  let failures = 0;
  try {
    while (!signal.aborted) {
      tally.requestTimes.push(Date.now());
      const res = await connection.get(`${base}${after}`).catch((err: Error) => err);
      if (first) live();
      first = false;
      if (res instanceof Error || res.status !== 200) {
        const why = res instanceof Error ? res.message : `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
        if (++failures > 5) throw new Error(why);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const page = JSON.parse(res.body) as PollPage;
      for (const event of page.events) receive(event, res.at, tally, seen);
      after = page.next;
      if (page.ended) return finish(link, seen, tally);
    }
    tally.errors.push(`${link}: timed out after ${seen.seqs.length} events`);
  } catch (err) {
    tally.errors.push(`${link}: ${(err as Error).message} after ${seen.seqs.length} events`);
  } finally {
    if (first) live();
    signal.removeEventListener("abort", abort);
    connection.close();
    tally.deltasSeen.push(seen.deltas);
  }
}

/** Run a plan: `onReady` once every watcher is live; resolves with the tally when all are done. */
export async function watchAudience(plan: AudiencePlan, onReady: () => void): Promise<Tally> {
  const tally: Tally = { latencies: [], deltasSeen: [], requestTimes: [], complete: 0, errors: [] };
  const signal = AbortSignal.timeout(plan.timeoutMs);
  let pending = plan.count;
  const live = () => {
    if (--pending === 0) onReady();
  };
  await Promise.all(
    Array.from({ length: plan.count }, () =>
      plan.mode === "sse"
        ? sseWatcher(plan.url, signal, live, tally)
        : pollWatcher(plan.url, signal, live, tally),
    ),
  );
  return tally;
}

/** The tally as the parent gets it: counts in the window, percentiles, the first 20 errors. */
export function summarizeTally(tally: Tally, window: [number, number]): AudienceWatchResult {
  const most = Math.max(0, ...tally.deltasSeen);
  return {
    latency: percentiles(tally.latencies),
    complete: tally.complete,
    deltasPerWatcher: most,
    missingDeltas: tally.deltasSeen.reduce((sum, n) => sum + (most - n), 0),
    requestsInWindow: tally.requestTimes.filter((t) => t >= window[0] && t < window[1]).length,
    errors: tally.errors.slice(0, 20),
  };
}

if (process.argv[1]?.endsWith("audience-watchers.ts") && process.send) {
  const plan = JSON.parse(process.argv[2] ?? "{}") as AudiencePlan;
  let window: [number, number] = [0, 0];
  process.on("message", (m: { type: string; fromMs: number; toMs: number }) => {
    if (m.type === "window") window = [m.fromMs, m.toMs];
  });
  // The benchmark went away (stopped us, or died): nobody will read the result.
  process.on("disconnect", () => process.exit(1));
  const tally = await watchAudience(plan, () => process.send?.({ type: "ready" }));
  process.send({ type: "done", result: summarizeTally(tally, window) }, () => process.exit(0));
}
