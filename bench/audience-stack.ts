/**
 * The audience scenario's stack: the real local stack with the store instrumented, the
 * audience agent (bench/audience-agent.ts) and `STREAM_SHARE_POLLING=false`, so each stream or
 * poll request reads the store by itself, as one Lambda invocation does (the benchmark's other
 * scenarios share one poller per run per process). A counting reverse proxy
 * (bench/origin-counter.ts) sits in front of it as the cache's backend.
 */
import { LOCAL_ARNS, type LocalStack, startLocalStack } from "../local/stack/index.ts";
import { checkAgent } from "../packages/agent/index.ts";
import { loadConfig } from "../packages/config/index.ts";
import { isTerminalType, type RunEvent } from "../packages/events/index.ts";
import { buildDefinition } from "../packages/workflow/index.ts";
import { type AudienceGate, audienceAgent } from "./audience-agent.ts";
import { BENCH_ENV } from "./harness.ts";
import { countStoreRequests, type StoreCounter } from "./instrument.ts";
import { type OriginCounter, startOriginCounter } from "./origin-counter.ts";

/** The running audience stack. */
export interface AudienceStack {
  stack: LocalStack;
  counter: StoreCounter;
  gate: AudienceGate;
  /** The counting proxy in front of the stack (the cache's backend). */
  origin: OriginCounter;
  /** The run's stored events so far, by seq. */
  events(runId: string): RunEvent[];
  /** POST /runs; resolves with the run id. */
  startRun(): Promise<string>;
  /** POST /runs/{id}/watch-token: the run's poll link (`links.poll`), as the API gave it. */
  pollLink(runId: string): Promise<string>;
  /** Resolves with the run's terminal event once it is stored. */
  ended(runId: string): Promise<RunEvent>;
  stop(): Promise<void>;
}

/** Settings of the audience stack besides {@link BENCH_ENV}. */
export const AUDIENCE_ENV = { TABLE_NAME: "stagecast-audience", STREAM_SHARE_POLLING: "false" };

/** POST `body` as JSON; the parsed answer. @throws on a status other than 2xx. */
async function postJson(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Start the audience stack and its origin counter. */
export async function startAudienceStack(): Promise<AudienceStack> {
  const config = loadConfig({ ...process.env, ...BENCH_ENV, ...AUDIENCE_ENV });
  const { agent, gate } = audienceAgent();
  const logs = new Map<string, Map<number, RunEvent>>();
  const waiting = new Map<string, Array<(e: RunEvent) => void>>();
  let counter: StoreCounter | undefined;
  const retryIntervalOverrides = Object.fromEntries(
    Object.keys(buildDefinition(checkAgent(agent), LOCAL_ARNS).States).map((s) => [s, 0]),
  );
  const stack = await startLocalStack(config, {
    log: () => {},
    agent,
    retryIntervalOverrides,
    instrumentDynamo: (client) => {
      counter = countStoreRequests(client);
    },
    onEventStored: (event) => {
      const log = logs.get(event.runId) ?? new Map<number, RunEvent>();
      logs.set(event.runId, log.set(event.seq, event));
      if (!isTerminalType(event.type)) return;
      for (const resolve of waiting.get(event.runId) ?? []) resolve(event);
      waiting.delete(event.runId);
    },
  });
  const origin = await startOriginCounter(stack.url).catch(async (err: unknown) => {
    await stack.stop();
    throw err;
  });
  const events = (runId: string) => [...(logs.get(runId)?.values() ?? [])];
  return {
    stack,
    counter: counter as StoreCounter,
    gate,
    origin,
    events,
    startRun: async () =>
      ((await postJson(`${stack.url}/runs`, { question: "Stream to the audience." })) as { runId: string })
        .runId,
    pollLink: async (runId) =>
      ((await postJson(`${stack.url}/runs/${runId}/watch-token`, {})) as { links: { poll: string } }).links
        .poll,
    ended: (runId) => {
      const terminal = events(runId).find((e) => isTerminalType(e.type));
      if (terminal) return Promise.resolve(terminal);
      return new Promise((resolve) => waiting.set(runId, [...(waiting.get(runId) ?? []), resolve]));
    },
    stop: async () => {
      await origin.stop();
      await stack.stop();
    },
  };
}
