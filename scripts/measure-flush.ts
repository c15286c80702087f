import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createParser } from "eventsource-parser";
import { FLUSH_STRATEGIES, type FlushStrategy } from "../packages/stream/index.ts";

/** Per-strategy result: frames received, bytes on the wire and per-frame delay statistics (ms). */
export interface FlushMeasurement {
  strategy: FlushStrategy;
  frames: number;
  bytes: number;
  /** receivedAt − event.ts, raw (includes clock skew between this machine and the server). */
  delay: { p50: number; p95: number; max: number };
  /** The same, minus the smallest delay seen in this strategy: the hold-back, whatever the skew. */
  extra: { p50: number; p95: number; max: number };
}

/** Options of {@link measureFlush}. */
export interface MeasureOptions {
  /** API base URL (POST /runs). */
  api: string;
  /** Question each measured run asks. */
  question: string;
  /** Strategies to measure, in order. */
  strategies?: readonly FlushStrategy[];
  /** Bearer token, when the deployment requires one. */
  token?: string;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? 0 };
};

/**
 * For each flush strategy, start one run and watch its stream with `?flush=<strategy>`,
 * recording for every stored-event frame written after the stream opened how long after its
 * `ts` it arrived. A front end that holds back small writes shows up as a large `extra` delay
 * for `off`. A stream that ends early with `retry:` (deadline) ends that strategy's sample.
 * @throws Error when the API refuses a run or a stream does not open.
 */
export async function measureFlush(options: MeasureOptions): Promise<FlushMeasurement[]> {
  const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const results: FlushMeasurement[] = [];
  for (const strategy of options.strategies ?? FLUSH_STRATEGIES) {
    const res = await fetch(`${options.api.replace(/\/+$/, "")}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ question: options.question }),
    });
    if (res.status !== 202) throw new Error(`POST /runs answered ${res.status}: ${await res.text()}`);
    const { links } = (await res.json()) as { links: { stream: string } };
    const url = new URL(links.stream);
    url.searchParams.set("flush", strategy);
    const opened = Date.now();
    const stream = await fetch(url, { headers: { accept: "text/event-stream", ...auth } });
    if (!stream.ok || !stream.body) throw new Error(`stream answered ${stream.status}`);
    const delays: number[] = [];
    let bytes = 0;
    let done = false;
    const parser = createParser({
      onEvent: (e) => {
        if (!e.id || e.event === "snapshot") return;
        const event = JSON.parse(e.data) as { ts: string; type: string };
        // Events written before the stream opened arrive as a backlog: their delay is the
        // connection time, not hold-back. (Clock skew can misplace a few at the edge.)
        if (Date.parse(event.ts) >= opened) delays.push(Date.now() - Date.parse(event.ts));
        if (["run.completed", "run.failed", "run.cancelled", "run.timed_out"].includes(event.type))
          done = true;
      },
    });
    const reader = stream.body.getReader();
    const decoder = new TextDecoder();
    while (!done) {
      const { value, done: end } = await reader.read();
      if (end) break;
      bytes += value.byteLength;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    await reader.cancel().catch(() => undefined);
    const floor = delays.length ? Math.min(...delays) : 0;
    results.push({
      strategy,
      frames: delays.length,
      bytes,
      delay: stats(delays),
      extra: stats(delays.map((d) => d - floor)),
    });
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      api: { type: "string" },
      question: { type: "string", default: "Explain how server-sent events reach a browser." },
      token: { type: "string" },
    },
  });
  if (!values.api) {
    console.error(
      "usage: npx tsx scripts/measure-flush.ts --api https://<api-url> [--token <jwt>] [--question '…']",
    );
    process.exit(2);
  }
  const rows = await measureFlush({
    api: values.api,
    question: values.question ?? "",
    ...(values.token ? { token: values.token } : {}),
  });
  console.log("strategy  frames   bytes   delay p50/p95/max ms   extra p50/p95/max ms");
  for (const r of rows) {
    const counts = `${r.strategy.padEnd(8)} ${String(r.frames).padStart(7)} ${String(r.bytes).padStart(7)}`;
    const delay = `${r.delay.p50}/${r.delay.p95}/${r.delay.max}`;
    console.log(`${`${counts}   ${delay}`.padEnd(48)}${r.extra.p50}/${r.extra.p95}/${r.extra.max}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(String(err));
    process.exit(1);
  });
}
