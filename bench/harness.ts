/**
 * The benchmark's stack: the real local stack (dynalite, aws-local-stepfunctions, the offline
 * model at a fixed token rate, the Stagecast API and stream on loopback) with the store's SDK
 * client instrumented, plus the two alternatives measured beside it:
 * - a stream that polls the store every 2 s (AWS's sample for Step Functions with streaming
 *   Lambda results polls DynamoDB every 2 s): the same stream app with both poll bounds at 2,000 ms;
 * - a direct in-process stream with no store at all (the floor): events are pushed to it the
 *   moment the store acknowledged them.
 * And the watcher process (bench/watchers.ts) that hosts the clients.
 */
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { LOCAL_ARNS, type LocalStack, type Served, serveApp, startLocalStack } from "../local/stack/index.ts";
import { checkAgent } from "../packages/agent/index.ts";
import { streamSettings } from "../packages/compose/index.ts";
import { loadConfig } from "../packages/config/index.ts";
import { defaultAgent } from "../packages/default-agent/index.ts";
import { isTerminalType, type RunEvent, toSseMessage } from "../packages/events/index.ts";
import { createStreamApp } from "../packages/stream/index.ts";
import { buildDefinition } from "../packages/workflow/index.ts";
import { countStoreRequests, type StoreCounter } from "./instrument.ts";
import type { WatchAnswer, WatchPlan } from "./watchers.ts";

/** The running benchmark stack. */
export interface Bench {
  stack: LocalStack;
  counter: StoreCounter;
  /** Base URL of the stream that polls every 2 s (same routes as the Stagecast stream). */
  slowStreamUrl: string;
  /** Base URL of the direct stream: GET /runs/{runId}/direct. */
  directUrl: string;
  /** Append time (ms since epoch) of every stored event, by run and seq. */
  appended: Map<string, Map<number, RunEvent>>;
  /** Run a plan in the watcher process (plans may overlap). */
  watch(plan: Omit<WatchPlan, "id">): Promise<WatchAnswer>;
  /** Set the offline model's test controls (tokensPerSecond, stallNext…; POST /_offline/knobs). */
  knobs(patch: Record<string, unknown>): Promise<void>;
  /** POST /runs; resolves with the run id. */
  startRun(question: string): Promise<string>;
  /** Resolves when the run's terminal event was stored. */
  ended(runId: string): Promise<RunEvent>;
  stop(): Promise<void>;
}

/** Settings the benchmark runs with (besides the defaults in ConfigSchema). */
export const BENCH_ENV = {
  PORT: "0",
  AUTH: "off",
  TABLE_NAME: "stagecast-bench",
  MAX_ACTIVE_RUNS: "10000",
  LOG_LEVEL: "ERROR",
};

/** Start everything; `tokensPerSecond` is the embedded model's fixed rate. */
export async function startBench(tokensPerSecond: number): Promise<Bench> {
  const config = loadConfig({
    ...process.env,
    ...BENCH_ENV,
    OFFLINE_MODEL_TOKENS_PER_SECOND: String(tokensPerSecond),
    OFFLINE_MODEL_TEST_CONTROLS: "true",
  });
  const bus = new EventEmitter().setMaxListeners(0);
  const appended = new Map<string, Map<number, RunEvent>>();
  const waiting = new Map<string, Array<(e: RunEvent) => void>>();
  let counter: StoreCounter | undefined;
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(buildDefinition(checkAgent(defaultAgent), LOCAL_ARNS).States).map((s) => [s, 0]),
  );
  const stack = await startLocalStack(config, {
    log: () => {},
    retryIntervalOverrides,
    instrumentDynamo: (client) => {
      counter = countStoreRequests(client);
    },
    onEventStored: (event) => {
      const seqs = appended.get(event.runId) ?? new Map<number, RunEvent>();
      appended.set(event.runId, seqs);
      seqs.set(event.seq, event);
      bus.emit(event.runId, event);
      if (isTerminalType(event.type)) {
        for (const resolve of waiting.get(event.runId) ?? []) resolve(event);
        waiting.delete(event.runId);
      }
    },
  });
  const servers: Served[] = [];
  const slow = createStreamApp({
    store: stack.store,
    settings: { ...streamSettings(config), pollMinMs: 2000, pollMaxMs: 2000 },
    auth: { mode: "off" },
  });
  servers.push(await serveApp(slow, 0, "127.0.0.1"));
  const direct = new Hono();
  direct.get("/runs/:runId/direct", (c) =>
    streamSSE(c, async (stream) => {
      const runId = c.req.param("runId");
      await new Promise<void>((resolve) => {
        const onEvent = (event: RunEvent) => {
          void stream.writeSSE(toSseMessage(event));
          if (isTerminalType(event.type)) done();
        };
        const done = () => {
          bus.off(runId, onEvent);
          resolve();
        };
        bus.on(runId, onEvent);
        stream.onAbort(done);
        if ([...(appended.get(runId)?.values() ?? [])].some((e) => isTerminalType(e.type))) done();
      });
    }),
  );
  servers.push(await serveApp(direct, 0, "127.0.0.1"));

  const child = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL("./watchers.ts", import.meta.url))],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  child.stdout.setEncoding("utf8");
  const pending = new Map<number, (answer: WatchAnswer) => void>();
  let nextId = 1;
  let buffer = "";
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const answer = JSON.parse(line) as WatchAnswer;
      pending.get(answer.id)?.(answer);
      pending.delete(answer.id);
    }
  });

  const offline = stack.offlineModelUrl as string;
  return {
    stack,
    counter: counter as StoreCounter,
    slowStreamUrl: (servers[0] as Served).url,
    directUrl: (servers[1] as Served).url,
    appended,
    watch: (plan) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ ...plan, id })}\n`);
      }),
    knobs: async (patch) => {
      const res = await fetch(`${offline}/_offline/knobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(patch),
      });
      if (!res.ok) throw new Error(`knobs: HTTP ${res.status}`);
    },
    startRun: async (question) => {
      const res = await fetch(`${stack.url}/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question }),
      });
      if (res.status !== 202) throw new Error(`POST /runs: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { runId: string }).runId;
    },
    ended: (runId) => {
      const terminal = [...(appended.get(runId)?.values() ?? [])].find((e) => isTerminalType(e.type));
      if (terminal) return Promise.resolve(terminal);
      return new Promise((resolve) => waiting.set(runId, [...(waiting.get(runId) ?? []), resolve]));
    },
    stop: async () => {
      child.stdin.end();
      child.kill();
      for (const s of servers) await s.close();
      await stack.stop();
    },
  };
}
