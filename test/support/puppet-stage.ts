import type { StageImpl } from "../../packages/agent/index.ts";

/** One run's orders to its puppet stage. */
interface Channel {
  orders: Array<{ say: string; done: () => void } | "release">;
  wake?: () => void;
  started: Promise<void>;
  start: () => void;
}

/**
 * A stage whose code a test drives, run by run: it appends a `stage.progress` event when told
 * to ({@link Puppet.say}) and completes when released, so a test decides exactly when a run's
 * log grows and when the run goes on (a live edge that stays put for as long as the test needs).
 */
export interface Puppet {
  /** The stage's code (pass it as `stages: { <name>: puppet.stage }` to startTestStack). */
  stage: StageImpl;
  /** Resolves once run `runId` is inside the puppet stage, waiting for orders. */
  started(runId: string): Promise<void>;
  /** Append a `stage.progress` event with `message` to the run's log; resolves once it is written. */
  say(runId: string, message: string): Promise<void>;
  /** Let the run's puppet stage complete; the run then goes on to its next stage. */
  release(runId: string): void;
}

/** A new {@link Puppet}: each run that reaches its stage waits there for the test's orders. */
export function puppetStage(): Puppet {
  const channels = new Map<string, Channel>();
  const channel = (runId: string): Channel => {
    let ch = channels.get(runId);
    if (!ch) {
      let start = () => {};
      const started = new Promise<void>((resolve) => {
        start = resolve;
      });
      ch = { orders: [], started, start };
      channels.set(runId, ch);
    }
    return ch;
  };
  const next = (ch: Channel, signal: AbortSignal) =>
    new Promise<Channel["orders"][number] | undefined>((resolve) => {
      const take = () => {
        signal.removeEventListener("abort", take);
        ch.wake = undefined;
        resolve(signal.aborted ? undefined : ch.orders.shift());
      };
      if (ch.orders.length > 0 || signal.aborted) return take();
      ch.wake = take;
      signal.addEventListener("abort", take, { once: true });
    });
  const order = (runId: string, o: Channel["orders"][number]) => {
    const ch = channel(runId);
    ch.orders.push(o);
    ch.wake?.();
  };
  const stage: StageImpl = async (ctx) => {
    const ch = channel(ctx.runId);
    ch.start();
    for (;;) {
      const o = await next(ch, ctx.signal);
      if (o === undefined || o === "release") return { state: {}, message: "The puppet was released." };
      await ctx.progress(o.say);
      o.done();
    }
  };
  return {
    stage,
    started: (runId) => channel(runId).started,
    say: (runId, message) => new Promise<void>((done) => order(runId, { say: message, done })),
    release: (runId) => order(runId, "release"),
  };
}
