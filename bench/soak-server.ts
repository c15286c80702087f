/**
 * The soak's server process (bench/soak.ts starts it; not part of the app): the real local
 * stack, started with `--expose-gc` and an IPC channel so the soak can read *this* process's
 * memory after a forced collection. The hook lives here, not in local/stack, so production
 * code never exposes gc() or memory figures.
 *
 * Protocol (IPC messages, see {@link SoakRequest} / {@link SoakReply}):
 * - on start it runs one question to its end and sends `ready` with the run's id and event count;
 * - `memory` → a full GC (see {@link collect}), then `process.memoryUsage()` and the number of level
 *   iterators/resources still attached to dynalite's database;
 * - `stop` → stops the stack and exits.
 */
import { createRequire } from "node:module";
import { getHeapSpaceStatistics } from "node:v8";
import { startLocalStack } from "../local/stack/index.ts";
import { loadConfig } from "../packages/config/index.ts";

/** What the soak sends to this process. */
export type SoakRequest = { type: "memory"; id: number } | { type: "stop" };

/** Memory of this process after a forced GC. All sizes in bytes. */
export interface MemoryReading {
  /** Resident set size of the whole process. */
  rssBytes: number;
  /** V8 heap in use by live objects. */
  heapUsedBytes: number;
  /** V8 heap reserved (committed) by the process, used or not. */
  heapTotalBytes: number;
  /** V8's young generation (new space), reserved: it grows in steps with allocation pressure. */
  newSpaceBytes: number;
  /** Memory of ArrayBuffers and SharedArrayBuffers, Node Buffers included (also inside `external`). */
  arrayBuffersBytes: number;
  /** Memory of C++ objects bound to JavaScript objects, ArrayBuffers included. */
  externalBytes: number;
  /**
   * Resources (iterators, snapshots…) attached to any abstract-level database and not yet
   * detached. The store closes each iterator when its read ends, so this stays near 0 at rest;
   * before the dynalite patch it grew by one per Query.
   */
  openLevelResources: number;
}

/** What this process sends back: `ready` once (or `error`), then one `memory` per request. */
export type SoakReply =
  | { type: "ready"; url: string; runId: string; events: number; node: string }
  | ({ type: "memory"; id: number } & MemoryReading)
  | { type: "error"; message: string };

/**
 * The question whose run the soak reads back. With the offline model at 50 tokens/s it makes a
 * run of 35–36 events (stage events plus llm.delta batches), close to the 40 of issue 13.
 */
const QUESTION = "How do I stream progress from a long AWS Lambda job to a browser?";

const send = (reply: SoakReply) => process.send?.(reply);

/**
 * Count abstract-level resources by wrapping attachResource/detachResource on the shared
 * prototype (resolved from dynalite, which owns the dependency). Counting only: both still
 * call the original. Leaked iterators are what issue 13 found, so the soak reports them too.
 */
function countLevelResources(): () => number {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const { AbstractLevel } = fromDynalite("abstract-level") as {
    AbstractLevel: { prototype: { attachResource(r: unknown): void; detachResource(r: unknown): void } };
  };
  const proto = AbstractLevel.prototype;
  const attach = proto.attachResource;
  const detach = proto.detachResource;
  const open = new WeakSet<object>();
  let count = 0;
  proto.attachResource = function (this: unknown, resource: unknown) {
    attach.call(this, resource);
    if (typeof resource === "object" && resource !== null && !open.has(resource)) {
      open.add(resource);
      count++;
    }
  };
  proto.detachResource = function (this: unknown, resource: unknown) {
    detach.call(this, resource);
    if (typeof resource === "object" && resource !== null && open.delete(resource)) count--;
  };
  return () => count;
}

/**
 * A full collection: regular passes with a macrotask between (so weak callbacks and finalizers
 * run), then V8's "last-resort" GC, which also shrinks the young generation and returns its
 * pages. Without that last step RSS moves in steps of tens of MB as V8 first touches the pages of
 * a young generation it had only reserved (up to ~134 MB on a 24-GB machine): allocation-policy
 * noise that is not memory the process holds on to.
 */
async function collect(): Promise<void> {
  const gc = (globalThis as { gc?: (options?: { type: string; flavor: string }) => void }).gc;
  if (!gc) throw new Error("start this process with --expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  gc({ type: "major", flavor: "last-resort" });
  await new Promise((resolve) => setImmediate(resolve));
}

async function main(): Promise<void> {
  if (!process.send) throw new Error("bench/soak-server.ts must be started with an IPC channel");
  const openResources = countLevelResources();
  // Explicit settings only (no process.env): the soak must not pick up OPENAI_* or DATA_DIR.
  const config = loadConfig({
    PORT: "0",
    AUTH: "off",
    TABLE_NAME: "stagecast-soak",
    LOG_LEVEL: "ERROR",
    OFFLINE_MODEL_TOKENS_PER_SECOND: "50",
  });
  const stack = await startLocalStack(config, { log: () => {} });
  process.on("message", (msg: SoakRequest) => {
    if (msg.type === "stop") {
      void stack.stop().then(() => process.exit(0));
      return;
    }
    collect().then(
      () => {
        const m = process.memoryUsage();
        send({
          type: "memory",
          id: msg.id,
          rssBytes: m.rss,
          heapUsedBytes: m.heapUsed,
          heapTotalBytes: m.heapTotal,
          newSpaceBytes:
            getHeapSpaceStatistics().find((sp) => sp.space_name === "new_space")?.space_size ?? 0,
          arrayBuffersBytes: m.arrayBuffers,
          externalBytes: m.external,
          openLevelResources: openResources(),
        });
      },
      (err: unknown) => send({ type: "error", message: String(err) }),
    );
  });

  const res = await fetch(`${stack.url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: QUESTION }),
  });
  if (res.status !== 202) throw new Error(`POST /runs answered ${res.status}: ${await res.text()}`);
  const { runId } = (await res.json()) as { runId: string };
  // Wait for the run's end: the soak reads a finished ~40-event log, as a client polling after
  // the run would.
  for (const started = Date.now(); ; ) {
    const page = (await (await fetch(`${stack.url}/runs/${runId}/events`)).json()) as {
      events: unknown[];
      ended: boolean;
    };
    if (page.ended) {
      send({ type: "ready", url: stack.url, runId, events: page.events.length, node: process.version });
      return;
    }
    if (Date.now() - started > 60_000) throw new Error(`run ${runId} did not end within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().catch((err: unknown) => {
  send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
