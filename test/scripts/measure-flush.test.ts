import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureFlush } from "../../scripts/measure-flush.ts";
import { startTestStack } from "../support/stack.ts";

let stack: Awaited<ReturnType<typeof startTestStack>>;
beforeAll(async () => {
  stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "0", STREAM_PAD_BYTES: "4096" });
});
afterAll(async () => {
  await stack?.stop();
});

describe("scripts/measure-flush.ts against a stream (here the local one)", () => {
  it("measures every strategy, and the bytes on the wire show what each writes", async () => {
    const rows = await measureFlush({ api: stack.url, question: "Measure me" });
    expect(rows.map((r) => r.strategy)).toEqual(["off", "pad", "trailer"]);
    for (const r of rows) {
      expect(r.frames).toBeGreaterThan(10);
      expect(r.extra.p50).toBeGreaterThanOrEqual(0);
      expect(r.delay.max).toBeGreaterThanOrEqual(r.delay.p50);
    }
    const [off, pad, trailer] = rows;
    // pad brings every batch up to 4 KiB; trailer adds a few bytes per batch.
    expect(pad?.bytes).toBeGreaterThan((off?.bytes ?? 0) + 4096);
    expect(trailer?.bytes).toBeGreaterThan(off?.bytes ?? 0);
    expect(trailer?.bytes).toBeLessThan(pad?.bytes ?? 0);
  });
});
