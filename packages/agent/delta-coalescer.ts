/** Bounds of {@link DeltaCoalescer}. */
export interface CoalescerOptions {
  /**
   * Minimum time between two writes (ms). Writes per second per run never exceed
   * 1000 / intervalMs, whatever the model's token rate. Text waits at most this long.
   */
  intervalMs: number;
  /**
   * Most characters one write carries. Text beyond it waits for the next interval, so a
   * burst never makes an oversized item (DynamoDB's 400 KB limit) nor breaks the rate bound.
   */
  maxChars: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

/**
 * Coalesces model tokens into few llm.delta writes. The first token after a quiet interval
 * is written at once (low time-to-first-token); after that, at most one write per
 * `intervalMs`, each with at most `maxChars` characters. Writes are sequential: a slow write
 * delays the next one rather than overlapping it.
 *
 * A failed write (store down, run already ended) is kept and rethrown by the next
 * {@link push} and by {@link close}, so the token loop stops instead of producing text that
 * will never be stored.
 */
export class DeltaCoalescer {
  readonly #write: (text: string) => Promise<void>;
  readonly #intervalMs: number;
  readonly #maxChars: number;
  readonly #now: () => number;
  #buffer = "";
  #lastWrite = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #error: unknown;
  #closed = false;

  constructor(write: (text: string) => Promise<void>, options: CoalescerOptions) {
    if (!(options.intervalMs >= 0) || !(options.maxChars >= 2)) {
      throw new RangeError("intervalMs must be >= 0 and maxChars >= 2");
    }
    this.#write = write;
    this.#intervalMs = options.intervalMs;
    this.#maxChars = options.maxChars;
    this.#now = options.now ?? Date.now;
  }

  /** Add text. @throws the error of an earlier failed write; RangeError after close(). */
  push(text: string): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#closed) throw new RangeError("push after close");
    if (!text) return;
    this.#buffer += text;
    this.#schedule();
  }

  /**
   * Write everything still buffered and stop. The last writes keep the interval too (the
   * bound holds for a run's final chunk as well; bench: 11 deltas in one second without this).
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    while (this.#buffer && this.#error === undefined) {
      const wait = this.#lastWrite + this.#intervalMs - this.#now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await this.#flushOne();
    }
    if (this.#error !== undefined) throw this.#error;
  }

  #schedule(): void {
    // After close() or a failed write nothing more is scheduled: close() writes the rest
    // itself, and writing past a failed chunk would store text with a hole in it.
    if (this.#closed || this.#error !== undefined) return;
    if (this.#timer !== undefined || this.#inFlight !== undefined || !this.#buffer) return;
    const wait = Math.max(0, this.#lastWrite + this.#intervalMs - this.#now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#flushOne().finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
    }, wait);
  }

  async #flushOne(): Promise<void> {
    if (!this.#buffer) return;
    const cut = safeCut(this.#buffer, this.#maxChars);
    const text = this.#buffer.slice(0, cut);
    this.#buffer = this.#buffer.slice(cut);
    try {
      await this.#write(text);
    } catch (err) {
      this.#error = err;
    }
    // From the end of the write: the next event's `ts` (taken when its append starts) is then
    // at least intervalMs after this one's, whatever the store's latency did to this write.
    this.#lastWrite = this.#now();
  }
}

/** Index to cut `s` at, at most `max`, never between the halves of a UTF-16 surrogate pair. */
function safeCut(s: string, max: number): number {
  if (s.length <= max) return s.length;
  const code = s.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}
