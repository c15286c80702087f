import { describe, expect, it } from "vitest";
import { MB, runSoak, type SoakOptions } from "../../bench/soak.ts";

/**
 * Issue 13, point 3: the embedded store must not keep memory per read. A short version of
 * `npm run soak` (bench/soak.ts): the real local stack in its own process (started with
 * --expose-gc, measured there after a forced GC), a finished ~35-event run read back with
 * GET /runs/{id}/events 2,000 and then 5,000 times.
 *
 * Why 2,000 before the baseline, not fewer: until then the server's malloc heap is still
 * filling to its working size (dead Buffers awaiting V8's next major GC, ~50 MB). A forced GC
 * earlier hands that memory back, and it comes back over the next thousands of reads: with a
 * baseline at 300 reads, leak-free runs grew by 0–50 MB by 3,000 reads, as much as the leak.
 *
 * Without patches/dynalite+4.0.0.patch every read leaves one level iterator open: measured
 * over these 3,000 reads, RSS +68 MB and ArrayBuffers +81 MB. With it both stay within 1 MB.
 * Bounds: the full soak's 30 MB per 18,000 reads scaled to 3,000 reads (5 MB) for
 * ArrayBuffers, which hold the leak; 15 MB for RSS, which the allocator moves by a few MB.
 */
const SHORT: SoakOptions = {
  checkpoints: [2_000, 5_000],
  concurrency: 4,
  maxRssGrowthBytes: 15 * MB,
  maxArrayBuffersGrowthBytes: 5 * MB,
  timeoutMs: 90_000,
};

describe("embedded store memory (dynalite)", () => {
  it("keeps RSS and ArrayBuffers flat from 2,000 to 5,000 reads of a finished run", async () => {
    const result = await runSoak(SHORT, "test/bench/soak.test.ts");
    const [first, last] = result.readings;
    // A failure shows the figures, not only the verdict (a pass prints nothing).
    const figures = [
      ...result.targets.map((t) => `${t.pass ? "PASS" : "FAIL"}  ${t.target}: ${t.measured}`),
      `open level resources ${first?.openLevelResources} → ${last?.openLevelResources}`,
    ].join("\n");
    expect(result.runEvents).toBeGreaterThanOrEqual(30);
    expect(result.growth.arrayBuffersBytes, figures).toBeLessThanOrEqual(SHORT.maxArrayBuffersGrowthBytes);
    expect(result.growth.rssBytes, figures).toBeLessThanOrEqual(SHORT.maxRssGrowthBytes);
    // The cause, counted directly: no read may leave its iterator attached to the database.
    expect(result.growth.openLevelResources, figures).toBeLessThan(10);
  }, 120_000);
});
