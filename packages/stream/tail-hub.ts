import { isTerminalType, type RunEvent, type TerminalType } from "../events/index.ts";
import type { Store } from "../store/index.ts";

/** How a hub polls (ms). */
export interface TailHubSettings {
  /** Poll interval while the run is active. */
  pollMinMs: number;
  /** Poll interval once the run has been quiet for a while (the idle cost: 1000 / pollMaxMs reads/s). */
  pollMaxMs: number;
  /** How long after the newest event polling stays at `pollMinMs` before it starts doubling. */
  pollHoldMs: number;
}

/** What {@link TailHub.next} found: events after the cursor, or that the caller must read them itself. */
export interface NextEvents {
  events: RunEvent[];
  /** The hub knows of events after the cursor that it no longer holds: read them from the store. */
  behind: boolean;
  /**
   * The run has ended and its terminal event is at or below the caller's cursor (a cursor
   * ahead of the log): no event will ever come after it, so the stream must end.
   */
  ended?: { seq: number; type: TerminalType };
}

/** Events kept per run for watchers that are a little behind the hub. */
const RECENT = 256;
/** Events read per store query. */
const PAGE = 100;

interface RunTail {
  /** Highest seq the hub has read. */
  cursor: number;
  recent: RunEvent[];
  waiters: Set<() => void>;
  timer?: ReturnType<typeof setTimeout>;
  idleTimer?: ReturnType<typeof setTimeout>;
  polling: boolean;
  delayMs: number;
  lastEventAt: number;
  failed: boolean;
  /** The run's terminal event, once read: nothing is appended after it, so polling stops. */
  terminal?: { seq: number; type: TerminalType };
}

/**
 * One store poller per run per process, shared by every stream of that run in the process:
 * with 100 watchers of a run, the store is polled once per interval, not 100 times, and each
 * new event reaches every watcher from the same read. Polling runs only while some stream
 * waits, at `pollMinMs` during activity and for `pollHoldMs` after it (so a burst of
 * llm.delta events 100 ms apart is seen within one short interval, not after a doubled one),
 * then doubling to `pollMaxMs`.
 *
 * The hub is an optimization, never the source of truth: a watcher behind what the hub holds
 * is told `behind` and reads the store itself. On Lambda each stream invocation serves one
 * client, so there the hub is simply that stream's poller.
 *
 * A client's cursor is not trusted to exist: a poller starts at the lower of the first
 * watcher's cursor and `logEnd` (the run's last seq when that stream opened), so its cursor
 * is always a seq the store holds. A watcher ahead of the log then simply waits like an idle
 * one (the poll it waits on is shared), a watcher behind the poller always gets at least one
 * event from its direct read (no loop of empty reads), and when the poller reads the
 * terminal event every waiter is answered: with events, or with `ended` when its cursor is
 * already past the end.
 */
export class TailHub {
  readonly #store: Store;
  readonly #settings: TailHubSettings;
  readonly #runs = new Map<string, RunTail>();

  constructor(store: Store, settings: TailHubSettings) {
    this.#store = store;
    this.#settings = settings;
  }

  /**
   * The run's events after `after`, waiting up to `maxWaitMs` for some to be appended (or
   * until `signal` aborts). Resolves with none on timeout, with `behind: true` when the caller
   * must read from the store (the hub has moved past events it no longer holds, or its last
   * read failed: the caller's own read then surfaces the error), and with `ended` when the run's
   * terminal event is at or below `after` (nothing will ever follow: end the stream).
   * @param after the caller's cursor (a seq; it may be ahead of the log).
   * @param maxWaitMs longest wait for new events (ms).
   * @param logEnd a seq the log is known to hold (the run's last seq when the stream opened);
   *   a new poller starts at the lower of it and `after`, never past the log. Default `after`.
   */
  next(
    runId: string,
    after: number,
    maxWaitMs: number,
    signal?: AbortSignal,
    logEnd: number = after,
  ): Promise<NextEvents> {
    const tail = this.#tail(runId, Math.min(after, logEnd));
    const now = this.#take(tail, after);
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", finish);
        tail.waiters.delete(wake);
        resolve(this.#take(tail, after) ?? { events: [], behind: false });
      };
      const wake = () => finish();
      const timer = setTimeout(finish, Math.max(0, maxWaitMs));
      signal?.addEventListener("abort", finish, { once: true });
      tail.waiters.add(wake);
      this.#schedule(runId, tail);
    });
  }

  /** Runs with a poller right now (for tests and metrics). */
  get activeRuns(): number {
    return this.#runs.size;
  }

  #tail(runId: string, start: number): RunTail {
    let tail = this.#runs.get(runId);
    if (!tail) {
      tail = {
        cursor: start,
        recent: [],
        waiters: new Set(),
        polling: false,
        delayMs: 0,
        lastEventAt: Date.now(),
        failed: false,
      };
      this.#runs.set(runId, tail);
    }
    return tail;
  }

  /** What the hub can answer at once for `after`, or undefined when the caller must wait. */
  #take(tail: RunTail, after: number): NextEvents | undefined {
    if (tail.failed) {
      // Once per failed poll: the caller's own read surfaces the error (or succeeds); later
      // calls wait for the next poll instead of turning into a loop of direct reads.
      tail.failed = false;
      return { events: [], behind: true };
    }
    if (tail.terminal && after >= tail.terminal.seq)
      return { events: [], behind: false, ended: tail.terminal };
    if (tail.cursor <= after) return undefined;
    const first = tail.recent[0];
    if (!first || first.seq > after + 1) return { events: [], behind: true };
    return { events: tail.recent.filter((e) => e.seq > after), behind: false };
  }

  #schedule(runId: string, tail: RunTail) {
    clearTimeout(tail.idleTimer);
    if (tail.polling || tail.timer || tail.terminal) return;
    tail.timer = setTimeout(() => {
      tail.timer = undefined;
      void this.#poll(runId, tail);
    }, tail.delayMs);
  }

  async #poll(runId: string, tail: RunTail) {
    tail.polling = true;
    let got = 0;
    try {
      for (;;) {
        const page = await this.#store.events.read(runId, tail.cursor, PAGE);
        if (page.events.length > 0) {
          tail.recent.push(...page.events);
          if (tail.recent.length > RECENT) tail.recent.splice(0, tail.recent.length - RECENT);
          tail.cursor = page.events.at(-1)?.seq ?? tail.cursor;
          got += page.events.length;
          const last = page.events.at(-1);
          if (last && isTerminalType(last.type)) tail.terminal = { seq: last.seq, type: last.type };
        }
        if (!page.hasMore) break;
      }
      tail.failed = false;
    } catch {
      tail.failed = true;
    } finally {
      tail.polling = false;
    }
    const now = Date.now();
    if (got > 0) tail.lastEventAt = now;
    const { pollMinMs, pollMaxMs, pollHoldMs } = this.#settings;
    tail.delayMs =
      got > 0 || now - tail.lastEventAt < pollHoldMs
        ? pollMinMs
        : Math.min(pollMaxMs, Math.max(pollMinMs, tail.delayMs * 2));
    if (got > 0 || tail.failed) for (const wake of [...tail.waiters]) wake();
    if (tail.waiters.size > 0 && !tail.terminal) this.#schedule(runId, tail);
    else {
      // The streams just woken ask again within moments; forget the run only if nobody does.
      tail.idleTimer = setTimeout(() => this.#release(runId, tail), pollMaxMs * 4);
      tail.idleTimer.unref?.();
    }
  }

  /** Forget a run nobody waits on (a later stream starts a new poller at its own cursor). */
  #release(runId: string, tail: RunTail) {
    if (tail.waiters.size > 0 || tail.polling || tail.timer) return;
    if (this.#runs.get(runId) === tail) this.#runs.delete(runId);
  }
}
