import { type EventInput, isTerminalType, type RunEvent } from "../events/index.ts";
import { buildEvent } from "./build-event.ts";
import { AppendContentionError, RunFinishedError } from "./errors.ts";
import type { Table } from "./table.ts";

/**
 * What a RunLog uses of the run events family: RunEvents has all of it. Declared here rather
 * than imported, because run-events.ts imports this module (no import cycle).
 */
export interface RunLogEvents {
  /** The table's clock (ms since epoch): each appended event's `ts`. */
  readonly table: Pick<Table, "now">;
  /** The newest event of a run's log, strongly consistent (RunEvents.last). */
  last(runId: string): Promise<RunEvent | undefined>;
  /** Write an event only if its seq is free; false when another writer owns it (RunEvents.putIfAbsent). */
  putIfAbsent(event: RunEvent): Promise<boolean>;
}

/** How many times an append re-reads and retries after losing the race for a seq. */
const MAX_APPEND_ATTEMPTS = 50;

/**
 * Appender for one run's log. Each append is ONE conditional PutItem on the next seq
 * (`attribute_not_exists(sk)`); losing the race re-reads the last event and tries the seq
 * after it. That keeps seq dense and unique across any number of writers without
 * transactions (which dynalite lacks and which would double the write cost).
 *
 * It also makes "nothing after the terminal event" hold without an extra read: a put at
 * `seq` succeeds only if `seq - 1` is the newest event, and this log always knows the type
 * of the event at `seq - 1` — it either wrote it or read it while recovering from a lost race.
 *
 * Appends from one RunLog are serialized in call order. Throws {@link RunFinishedError}
 * after a terminal event, {@link AppendContentionError} when the retry budget runs out,
 * and the store's other errors.
 */
export class RunLog {
  readonly events: RunLogEvents;
  readonly runId: string;
  #lastSeq: number | undefined;
  #last: RunEvent | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(events: RunLogEvents, runId: string) {
    this.events = events;
    this.runId = runId;
  }

  /** The newest event this log knows of (after {@link sync} or an append). */
  get last(): RunEvent | undefined {
    return this.#last;
  }

  /** Re-read the newest event from the store (strongly consistent) and return it. */
  async sync(): Promise<RunEvent | undefined> {
    this.#last = await this.events.last(this.runId);
    this.#lastSeq = this.#last?.seq ?? 0;
    return this.#last;
  }

  /**
   * Append one event and return it as stored (with `runId`, `seq`, `ts`).
   * @throws RunFinishedError when the log already ends with a terminal event.
   */
  append(input: EventInput): Promise<RunEvent> {
    const next = this.#queue.then(() => this.#append(input));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #append(input: EventInput): Promise<RunEvent> {
    if (this.#lastSeq === undefined) await this.sync();
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      if (this.#last && isTerminalType(this.#last.type))
        throw new RunFinishedError(this.runId, this.#last.type);
      const event = buildEvent(input, this.runId, (this.#lastSeq ?? 0) + 1, this.events.table.now());
      if (await this.events.putIfAbsent(event)) {
        this.#lastSeq = event.seq;
        this.#last = event;
        return event;
      }
      // Lost the race: someone else owns this seq. Back off a little (jittered, so N
      // contending writers spread out) and learn the real tail.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(attempt, 10)));
      await this.sync();
    }
    throw new AppendContentionError(this.runId, MAX_APPEND_ATTEMPTS);
  }
}
