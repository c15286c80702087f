/**
 * `npm run soak`: does the embedded store hold memory it no longer needs? (issue 13, point 3)
 *
 * Starts the real local stack in its own process (bench/soak-server.ts, `--expose-gc`, IPC),
 * lets it finish one ~35-event run, then reads that run back with `GET /runs/{id}/events`, as a
 * client polling a finished run would, and asks the server for its memory after a forced GC at
 * each checkpoint. The server process is measured, never this one: the reads' own garbage and
 * the HTTP client stay out of the figures.
 *
 * Target: from the first checkpoint (2,000 reads: past start-up, JIT warm-up and the malloc
 * heap filling to its working size) to the last (20,000 reads), RSS and ArrayBuffers each grow
 * by at most 30 MB. Before the dynalite patch (patches/dynalite+4.0.0.patch) every Query left a
 * level iterator open and each grew by about 25 MB per 1,000 reads. It is not a scenario of
 * `npm run bench`: that one runs the stack inside the benchmark's own process, without
 * `--expose-gc`. Writes bench/soak-results.json (or `--out <file>`) and exits 1 when a target
 * fails; `--first N --reads M` moves the two checkpoints. test/bench/soak.test.ts runs a
 * shorter version.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { MemoryReading, SoakReply, SoakRequest } from "./soak-server.ts";

/** 1 MB = 10^6 bytes, as the figures are printed. */
export const MB = 1_000_000;

/** How much to read and what to allow. */
export interface SoakOptions {
  /**
   * Read counts (cumulative, ascending) after which memory is read. The first is the baseline
   * (everything before it is warm-up); the last is compared with it.
   */
  checkpoints: number[];
  /** GET requests in flight at once (each worker waits for its answer before the next). */
  concurrency: number;
  /** Most RSS may grow from the first checkpoint to the last (bytes). */
  maxRssGrowthBytes: number;
  /** Most ArrayBuffers may grow from the first checkpoint to the last (bytes). */
  maxArrayBuffersGrowthBytes: number;
  /** Give up after this long in all (ms). */
  timeoutMs: number;
}

/** The full soak: 2,000 then 20,000 reads, at most 30 MB of growth of either figure. */
export const FULL_SOAK: SoakOptions = {
  checkpoints: [2_000, 5_000, 10_000, 15_000, 20_000],
  concurrency: 4,
  maxRssGrowthBytes: 30 * MB,
  maxArrayBuffersGrowthBytes: 30 * MB,
  timeoutMs: 600_000,
};

/** One memory reading of the server process, after `reads` reads in all. Sizes in bytes. */
export type SoakReading = { reads: number } & MemoryReading;

/** A target, as bench/main.ts reports its own: what was asked, what was measured, pass/fail. */
export interface SoakTarget {
  /** The requirement, in words. */
  target: string;
  /** What was measured, in words (MB = 10^6 bytes). */
  measured: string;
  pass: boolean;
}

/** What one soak measured. Sizes in bytes, durations in ms. */
export interface SoakResult {
  /** When it finished (ISO-8601 UTC). */
  date: string;
  /** How it was started, to rerun it. */
  command: string;
  /** The server process's Node version. */
  node: string;
  /** Events in the run that was read back. */
  runEvents: number;
  options: SoakOptions;
  readings: SoakReading[];
  /** Last reading minus first (bytes; resources as a count). */
  growth: { rssBytes: number; arrayBuffersBytes: number; heapUsedBytes: number; openLevelResources: number };
  /** Reads per second between the first and the last checkpoint (memory readings excluded). */
  readsPerSecond: number;
  targets: SoakTarget[];
}

const SERVER = fileURLToPath(new URL("./soak-server.ts", import.meta.url));

/**
 * Node flags of the server process: `--expose-gc` for the forced collection, and the young
 * generation pinned at 16 MB per semi-space (V8's long-standing 64-bit default). Recent V8
 * sizes it from the machine's memory (64 MB per semi-space on a 24-GB machine); the forced GC
 * shrinks it and it grows back in steps, each step making more pages resident. In leak-free
 * soaks that moved RSS after GC by 20–50 MB at random points, more than the 30-MB bound.
 * Pinned, leak-free soaks moved by 0–3 MB, and the leak still adds ~450 MB.
 */
export const SERVER_FLAGS = ["--expose-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"];
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const signedMb = (bytes: number) => `${bytes >= 0 ? "+" : ""}${mb(bytes)}`;

/** The server process and a request/answer channel to it. */
interface Server {
  child: ChildProcess;
  ready: Extract<SoakReply, { type: "ready" }>;
  memory(): Promise<MemoryReading>;
  stop(): Promise<void>;
}

async function startServer(timeoutMs: number): Promise<Server> {
  // process.execPath: the Node that runs this script (npm's Node 24), with tsx for the .ts entry.
  const child = spawn(process.execPath, [...SERVER_FLAGS, "--import", "tsx", SERVER], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const waiting = new Map<number, { resolve: (m: MemoryReading) => void; reject: (e: Error) => void }>();
  const ready = Promise.withResolvers<Extract<SoakReply, { type: "ready" }>>();
  let failed: Error | undefined;
  // Any failure (an error reply, the process exiting) rejects everything still waiting.
  const fail = (err: Error) => {
    failed ??= err;
    ready.reject(failed);
    for (const w of waiting.values()) w.reject(failed);
    waiting.clear();
  };
  child.on("message", (msg: SoakReply) => {
    if (msg.type === "ready") ready.resolve(msg);
    else if (msg.type === "error") fail(new Error(`soak server: ${msg.message}`));
    else {
      const { type: _type, id, ...reading } = msg;
      waiting.get(id)?.resolve(reading);
      waiting.delete(id);
    }
  });
  child.once("exit", (code, signal) => fail(new Error(`soak server exited (${code ?? signal})`)));
  const timer = setTimeout(() => fail(new Error(`soak server not ready after ${timeoutMs} ms`)), timeoutMs);
  const stop = async () => {
    clearTimeout(timer);
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: "stop" } satisfies SoakRequest);
    // The stack stops in well under a second; kill this child (by its own handle) if it hangs.
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const answer = await ready.promise;
    clearTimeout(timer);
    let nextId = 1;
    return {
      child,
      ready: answer,
      memory: () =>
        new Promise((resolve, reject) => {
          if (failed) return reject(failed);
          const id = nextId++;
          waiting.set(id, { resolve, reject });
          child.send({ type: "memory", id } satisfies SoakRequest);
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** `count` GET /runs/{id}/events with `concurrency` in flight; each answer is checked and consumed. */
async function read(url: string, runId: string, events: number, count: number, concurrency: number) {
  let left = count;
  const worker = async () => {
    while (left > 0) {
      left--;
      const res = await fetch(`${url}/runs/${runId}/events`);
      if (res.status !== 200) throw new Error(`GET /runs/${runId}/events answered ${res.status}`);
      const page = (await res.json()) as { events: unknown[] };
      if (page.events.length !== events)
        throw new Error(`expected ${events} events, got ${page.events.length}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** The targets for a soak's readings (first checkpoint against last). */
export function soakTargets(result: Pick<SoakResult, "readings" | "options">): SoakTarget[] {
  const first = result.readings[0];
  const last = result.readings.at(-1);
  if (!first || !last) return [];
  const o = result.options;
  const span = `${first.reads.toLocaleString("en")} → ${last.reads.toLocaleString("en")} reads`;
  const rss = last.rssBytes - first.rssBytes;
  const ab = last.arrayBuffersBytes - first.arrayBuffersBytes;
  return [
    {
      target: `server RSS after GC grows ≤ ${mb(o.maxRssGrowthBytes)} from ${span}`,
      measured: `${mb(first.rssBytes)} → ${mb(last.rssBytes)} (${signedMb(rss)})`,
      pass: rss <= o.maxRssGrowthBytes,
    },
    {
      target: `server ArrayBuffers after GC grow ≤ ${mb(o.maxArrayBuffersGrowthBytes)} from ${span}`,
      measured: `${mb(first.arrayBuffersBytes)} → ${mb(last.arrayBuffersBytes)} (${signedMb(ab)})`,
      pass: ab <= o.maxArrayBuffersGrowthBytes,
    },
  ];
}

/**
 * Run the soak: start the server process, read the run back up to each checkpoint and read the
 * server's memory there, stop the server (also on failure).
 * @param command how the soak was started, recorded in the result.
 * @param log progress lines (stderr in the CLI).
 * @throws when the server fails to start or answer, a read is not 200 with every event, or
 *   the whole soak takes longer than `options.timeoutMs`.
 */
export async function runSoak(
  options: SoakOptions,
  command: string,
  log: (msg: string) => void = () => {},
): Promise<SoakResult> {
  const deadline = Date.now() + options.timeoutMs;
  const server = await startServer(options.timeoutMs);
  try {
    const { url, runId, events, node } = server.ready;
    log(`server ${url} on ${node}; run ${runId} has ${events} events`);
    const readings: SoakReading[] = [];
    let done = 0;
    let readMs = 0;
    for (const checkpoint of options.checkpoints) {
      const started = performance.now();
      await read(url, runId, events, checkpoint - done, options.concurrency);
      // Time only the reads after the baseline: the warm-up's pace says little.
      if (readings.length > 0) readMs += performance.now() - started;
      done = checkpoint;
      const reading = { reads: done, ...(await server.memory()) };
      readings.push(reading);
      log(
        `${done} reads: rss ${mb(reading.rssBytes)}, arrayBuffers ${mb(reading.arrayBuffersBytes)}, ` +
          `heapUsed ${mb(reading.heapUsedBytes)} of ${mb(reading.heapTotalBytes)} (new space ${mb(reading.newSpaceBytes)}), open level resources ${reading.openLevelResources}`,
      );
      if (Date.now() > deadline) throw new Error(`soak exceeded ${options.timeoutMs} ms`);
    }
    const first = readings[0] as SoakReading;
    const last = readings.at(-1) as SoakReading;
    const result: Omit<SoakResult, "targets"> = {
      date: new Date().toISOString(),
      command,
      node,
      runEvents: events,
      options,
      readings,
      growth: {
        rssBytes: last.rssBytes - first.rssBytes,
        arrayBuffersBytes: last.arrayBuffersBytes - first.arrayBuffersBytes,
        heapUsedBytes: last.heapUsedBytes - first.heapUsedBytes,
        openLevelResources: last.openLevelResources - first.openLevelResources,
      },
      readsPerSecond: readMs > 0 ? ((last.reads - first.reads) / readMs) * 1000 : 0,
    };
    return { ...result, targets: soakTargets(result) };
  } finally {
    await server.stop();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      first: { type: "string" },
      reads: { type: "string" },
    },
  });
  // --first / --reads move the checkpoints (e.g. a longer soak); the bounds stay 30 MB.
  const first = values.first ? Number(values.first) : (FULL_SOAK.checkpoints[0] as number);
  const total = values.reads ? Number(values.reads) : (FULL_SOAK.checkpoints.at(-1) as number);
  const custom = values.first !== undefined || values.reads !== undefined;
  if (!(Number.isInteger(first) && Number.isInteger(total) && 0 < first && first < total)) {
    throw new Error("--first and --reads must be integers with 0 < first < reads");
  }
  const options: SoakOptions = custom ? { ...FULL_SOAK, checkpoints: [first, total] } : FULL_SOAK;
  const command = `npm run soak${custom ? ` -- --first ${first} --reads ${total}` : ""}`;
  const result = await runSoak(options, command, (msg) => process.stderr.write(`[soak] ${msg}\n`));
  const out = values.out ?? fileURLToPath(new URL("./soak-results.json", import.meta.url));
  // Number arrays on one line, as Biome formats JSON (npm run lint checks this file too).
  const json = JSON.stringify(result, null, 2).replace(
    /\[\s*(-?[\d.]+(?:,\s*-?[\d.]+)*)\s*\]/g,
    (_, list: string) => `[${list.split(/,\s*/).join(", ")}]`,
  );
  writeFileSync(out, `${json}\n`);
  for (const t of result.targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.measured}`);
  console.log(
    `open level resources ${result.readings[0]?.openLevelResources} → ${result.readings.at(-1)?.openLevelResources}; ` +
      `${Math.round(result.readsPerSecond)} reads/s; wrote ${out}`,
  );
  return result.targets.every((t) => t.pass);
}

if (process.argv[1]?.endsWith("bench/soak.ts")) {
  main().then(
    (pass) => process.exit(pass ? 0 : 1),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
