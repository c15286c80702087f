/**
 * The audience scenario's agent: one stage that waits at a gate until the benchmark has its
 * watchers connected, then streams text for a fixed window through the stage's llm.delta
 * coalescer (LLM_DELTA_INTERVAL_MS apart: about 10 events/s, the rate a real model's answer
 * is written at), so every measured event is appended while every watcher is live.
 */
import type { AgentDefinition, StageContext } from "../packages/agent/index.ts";

/** Characters pushed per tick, and ticks per second (the coalescer turns them into ≤ 10 writes/s). */
const CHUNK = "token ";
const TICK_MS = 20;

/** Opens a run's gate: the stage then streams for `windowMs` (ms). */
export interface AudienceGate {
  /** Resolves when the run's stage waits at the gate (its stage.started is stored). */
  waiting(runId: string): Promise<void>;
  /** Let the run's stage stream for `windowMs` ms; returns the time it opened (ms since epoch). */
  open(runId: string, windowMs: number): number;
}

interface Waiter {
  arrived: () => void;
  arrivedP: Promise<void>;
  opened: (windowMs: number) => void;
  openedP: Promise<number>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** The gated agent and its gate. The stage's name is `stream`; it returns no state. */
export function audienceAgent(): { agent: AgentDefinition; gate: AudienceGate } {
  const waiters = new Map<string, Waiter>();
  const waiterOf = (runId: string): Waiter => {
    const known = waiters.get(runId);
    if (known) return known;
    const w = {} as Waiter;
    w.arrivedP = new Promise<void>((resolve) => {
      w.arrived = resolve;
    });
    w.openedP = new Promise<number>((resolve) => {
      w.opened = resolve;
    });
    waiters.set(runId, w);
    return w;
  };
  const stream = async (ctx: StageContext) => {
    const w = waiterOf(ctx.runId);
    w.arrived();
    const windowMs = await w.openedP;
    waiters.delete(ctx.runId);
    const until = Date.now() + windowMs;
    const deltas = ctx.deltas((chars) => Math.min(0.99, (chars / CHUNK.length / windowMs) * TICK_MS));
    while (Date.now() < until && !ctx.signal.aborted) {
      deltas.push(CHUNK);
      await sleep(TICK_MS, ctx.signal);
    }
    await deltas.close();
    return { state: {}, message: "Streamed the audience window." };
  };
  return {
    agent: {
      name: "bench-audience",
      stages: [{ name: "stream", weight: 1, timeoutSeconds: 900, retries: 0, run: stream }],
    },
    gate: {
      waiting: (runId) => waiterOf(runId).arrivedP,
      open: (runId, windowMs) => {
        waiterOf(runId).opened(windowMs);
        return Date.now();
      },
    },
  };
}
