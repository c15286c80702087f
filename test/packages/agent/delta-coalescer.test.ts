import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type CoalescerOptions, DeltaCoalescer } from "../../../packages/agent/delta-coalescer.ts";

/** A recording write sink; each write takes `latencyMs` of (fake) time and may be made to fail. */
function sink(latencyMs = 0) {
  const writes: Array<{ text: string; at: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let failWith: ((n: number) => unknown) | undefined;
  const write = async (text: string): Promise<void> => {
    writes.push({ text, at: Date.now() });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      const err = failWith?.(writes.length);
      if (err !== undefined) throw err;
    } finally {
      inFlight--;
    }
  };
  return {
    write,
    writes,
    texts: () => writes.map((w) => w.text),
    maxInFlight: () => maxInFlight,
    failWhen: (f: (n: number) => unknown) => {
      failWith = f;
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so failures are reproducible. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz ,.!?\n0123456789";

function token(rand: () => number, maxLen: number): string {
  const len = 1 + Math.floor(rand() * maxLen);
  let s = "";
  for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

/** Advance fake time in small steps until `p` settles (writes take fake time), then return its outcome. */
async function settle<T>(p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 100_000 && !done; i++) await vi.advanceTimersByTimeAsync(10);
  return p;
}

const make = (write: (t: string) => Promise<void>, opts: Omit<CoalescerOptions, "now">) =>
  new DeltaCoalescer(write, { ...opts, now: () => Date.now() });

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("DeltaCoalescer", () => {
  it("rejects nonsensical bounds", () => {
    const { write } = sink();
    expect(() => new DeltaCoalescer(write, { intervalMs: -1, maxChars: 10 })).toThrow(RangeError);
    expect(() => new DeltaCoalescer(write, { intervalMs: 10, maxChars: 1 })).toThrow(RangeError);
    expect(() => new DeltaCoalescer(write, { intervalMs: Number.NaN, maxChars: 10 })).toThrow(RangeError);
  });

  it("writes the first push at once (leading edge), without waiting for the interval", async () => {
    const s = sink();
    const c = make(s.write, { intervalMs: 250, maxChars: 100 });
    const t0 = Date.now();
    c.push("Hello");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.writes).toEqual([{ text: "Hello", at: t0 }]);

    // Later pushes inside the interval wait for it and are coalesced into one write.
    c.push(" wor");
    c.push("ld");
    await vi.advanceTimersByTimeAsync(100);
    expect(s.texts()).toEqual(["Hello"]);
    await vi.advanceTimersByTimeAsync(150);
    expect(s.writes).toEqual([
      { text: "Hello", at: t0 },
      { text: " world", at: t0 + 250 },
    ]);

    // After a quiet period the next push is again written at once.
    await vi.advanceTimersByTimeAsync(5_000);
    const t1 = Date.now();
    c.push("!");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.writes.at(-1)).toEqual({ text: "!", at: t1 });
    await settle(c.close());
    expect(s.texts().join("")).toBe("Hello world!");
  });

  it("ignores empty pushes (no empty writes)", async () => {
    const s = sink();
    const c = make(s.write, { intervalMs: 50, maxChars: 10 });
    c.push("");
    await vi.advanceTimersByTimeAsync(200);
    expect(s.writes).toHaveLength(0);
    await settle(c.close());
    expect(s.writes).toHaveLength(0);
  });

  it.each([
    { intervalMs: 100, maxChars: 16, latencyMs: 0, seed: 1 },
    { intervalMs: 100, maxChars: 16, latencyMs: 30, seed: 2 },
    { intervalMs: 40, maxChars: 5, latencyMs: 70, seed: 3 },
    { intervalMs: 250, maxChars: 64, latencyMs: 5, seed: 4 },
  ])(
    "bounds rate and size, loses nothing, keeps order: %o",
    async ({ intervalMs, maxChars, latencyMs, seed }) => {
      const s = sink(latencyMs);
      const c = make(s.write, { intervalMs, maxChars });
      const rand = rng(seed);
      const pushed: string[] = [];
      const end = Date.now() + 3_000;
      while (Date.now() < end) {
        const t = token(rand, 12);
        pushed.push(t);
        c.push(t);
        await vi.advanceTimersByTimeAsync(Math.floor(rand() * 9));
      }
      const beforeClose = s.writes.length;
      const overlapWhileStreaming = s.maxInFlight();
      await settle(c.close());

      // The rate bound holds for every write, the ones close() makes too.
      const streamed = s.writes;
      expect(beforeClose).toBeGreaterThan(5);
      for (let i = 1; i < streamed.length; i++) {
        const gap = (streamed[i]?.at ?? 0) - (streamed[i - 1]?.at ?? 0);
        expect(gap, `gap between write ${i - 1} and ${i}`).toBeGreaterThanOrEqual(intervalMs);
      }
      // Writes never overlap while streaming (see the close() tests for the flush phase).
      expect(overlapWhileStreaming).toBe(1);
      // Each write is non-empty and at most maxChars.
      for (const w of s.writes) {
        expect(w.text.length).toBeGreaterThan(0);
        expect(w.text.length).toBeLessThanOrEqual(maxChars);
      }
      // No loss, no duplication, no reordering.
      expect(s.texts().join("")).toBe(pushed.join(""));
    },
  );

  it("a burst larger than maxChars is split across intervals, not written at once", async () => {
    const s = sink();
    const c = make(s.write, { intervalMs: 100, maxChars: 4 });
    const t0 = Date.now();
    c.push("abcdefghij");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.texts()).toEqual(["abcd"]);
    await vi.advanceTimersByTimeAsync(99);
    expect(s.texts()).toEqual(["abcd"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.texts()).toEqual(["abcd", "efgh"]);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.writes).toEqual([
      { text: "abcd", at: t0 },
      { text: "efgh", at: t0 + 100 },
      { text: "ij", at: t0 + 200 },
    ]);
    await settle(c.close());
    expect(s.writes).toHaveLength(3);
  });

  it("close() flushes everything still buffered, keeping the interval between writes", async () => {
    const s = sink();
    const c = make(s.write, { intervalMs: 1_000, maxChars: 6 });
    const t = Date.now();
    c.push("first");
    await vi.advanceTimersByTimeAsync(0);
    c.push(" second third fourth");
    await settle(c.close());
    expect(s.texts().join("")).toBe("first second third fourth");
    // At most one write per interval, the final chunks too: the rate bound holds to the end.
    expect(s.writes.map((w) => w.at - t)).toEqual(s.writes.map((_, i) => i * 1_000));
    for (const w of s.writes) expect(w.text.length).toBeLessThanOrEqual(6);
  });

  it("close() while a write is in flight waits for it, then flushes the rest, and writes nothing afterwards", async () => {
    const s = sink(10);
    const c = make(s.write, { intervalMs: 100, maxChars: 4 });
    c.push("abcdefghij");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.texts()).toEqual(["abcd"]);
    let closed = false;
    const closing = c.close().then(() => {
      closed = true;
    });
    await settle(closing);
    expect(closed).toBe(true);
    expect(s.texts().join("")).toBe("abcdefghij");
    expect(s.maxInFlight()).toBe(1);
    const afterClose = s.writes.length;

    // Nothing may be written after close() resolved: no stray timer, no empty write.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.texts().slice(afterClose)).toEqual([]);
    expect(s.writes.every((w) => w.text.length > 0)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("close() on a long backlog while a write is in flight never overlaps writes", async () => {
    // The flush in close() takes longer than the interval, so any timer left armed would fire in the middle of it.
    const s = sink(20);
    const c = make(s.write, { intervalMs: 50, maxChars: 4 });
    c.push("0123456789abcdefghijklmnopqrstuvwxyz");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.texts()).toEqual(["0123"]);
    await settle(c.close());
    expect(s.texts().join("")).toBe("0123456789abcdefghijklmnopqrstuvwxyz");
    expect(s.maxInFlight()).toBe(1);
    for (const w of s.writes) expect(w.text.length).toBeGreaterThan(0);
  });

  it("a failing write makes the next push() and close() throw that error", async () => {
    const s = sink();
    const boom = new Error("store down");
    s.failWhen((n) => (n === 2 ? boom : undefined));
    const c = make(s.write, { intervalMs: 100, maxChars: 50 });
    c.push("one");
    await vi.advanceTimersByTimeAsync(0);
    c.push("two");
    // push() before the failing write has happened still works.
    expect(() => c.push("!")).not.toThrow();
    await vi.advanceTimersByTimeAsync(100);
    expect(s.texts()).toEqual(["one", "two!"]);
    expect(() => c.push("three")).toThrow(boom);
    expect(() => c.push("four")).toThrow(boom);
    await expect(settle(c.close())).rejects.toBe(boom);
  });

  it("a failing first write is reported too", async () => {
    const s = sink(5);
    const boom = new Error("run already ended");
    s.failWhen(() => boom);
    const c = make(s.write, { intervalMs: 100, maxChars: 50 });
    c.push("x");
    await vi.advanceTimersByTimeAsync(0);
    const closing = c.close();
    const caught = closing.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(await caught).toBe(boom);
    expect(() => c.push("y")).toThrow(boom);
  });

  it("a failed write during close() stops the flush and rejects", async () => {
    const s = sink();
    const boom = new Error("store down");
    s.failWhen((n) => (n === 2 ? boom : undefined));
    const c = make(s.write, { intervalMs: 1_000, maxChars: 3 });
    c.push("abcdefghijkl");
    await expect(settle(c.close())).rejects.toBe(boom);
    // The write after the failed one is not attempted.
    expect(s.texts()).toEqual(["abc", "def"]);
  });

  it("after a failed write, no later text is written (no gap in the stored text)", async () => {
    const s = sink();
    const boom = new Error("store down");
    s.failWhen((n) => (n === 1 ? boom : undefined));
    const c = make(s.write, { intervalMs: 100, maxChars: 4 });
    c.push("abcdefghijkl");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.texts()).toEqual(["abcd"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.texts()).toEqual(["abcd"]);
    await expect(settle(c.close())).rejects.toBe(boom);
    expect(s.texts()).toEqual(["abcd"]);
  });

  it.each([3, 5, 7])("never splits a surrogate pair (maxChars %i)", async (maxChars) => {
    const s = sink();
    const c = make(s.write, { intervalMs: 20, maxChars });
    const rand = rng(maxChars);
    const pieces = ["😀", "a", "🎉🎉", "b😀", "𝄞", "cd", "👍🏽", "😀😀😀"];
    const pushed: string[] = [];
    for (let i = 0; i < 200; i++) {
      const p = pieces[Math.floor(rand() * pieces.length)] ?? "";
      pushed.push(p);
      c.push(p);
      await vi.advanceTimersByTimeAsync(Math.floor(rand() * 6));
    }
    await settle(c.close());
    expect(s.writes.length).toBeGreaterThan(10);
    for (const w of s.writes) {
      expect(w.text.length).toBeGreaterThan(0);
      expect(w.text.length).toBeLessThanOrEqual(maxChars);
      expect(w.text.isWellFormed(), JSON.stringify(w.text)).toBe(true);
    }
    expect(s.texts().join("")).toBe(pushed.join(""));
  });

  it("an emoji-only burst with odd maxChars is cut before the pair", async () => {
    const s = sink();
    const c = make(s.write, { intervalMs: 10, maxChars: 3 });
    c.push("😀😀😀");
    await settle(c.close());
    expect(s.texts()).toEqual(["😀", "😀", "😀"]);
  });
});
