import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AudienceCell, AudienceResults } from "../../bench/audience.ts";
import {
  CAPACITY_MARKERS,
  capacityModel,
  LIMITS,
  renderCapacity,
  withCapacityTable,
} from "../../bench/capacity.ts";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");

/** A measured cell with the counts the model reads (the rest of a cell does not enter it). */
const cell = (mode: AudienceCell["mode"], watchers: number, counts: Partial<AudienceCell>): AudienceCell =>
  ({
    mode,
    watchers,
    windowSeconds: 10,
    eventsPerSecond: 10,
    originRequestsPerSecond: 10,
    originConcurrency: mode === "sse" ? watchers : 1,
    storeReadsPerSecond: 100,
    clientRequestsPerSecond: 10 * watchers,
    ...counts,
  }) as AudienceCell;

describe("the capacity model (bench/capacity.ts)", () => {
  const results = {
    sizes: { watchers: [1, 1000], windowSeconds: 10, sseGuardP99Ms: 5000, cellTimeoutMs: 1000 },
    cells: [
      cell("sse", 1, { storeReadsPerSecond: 90 }),
      // A saturated machine: each SSE poller slowed down. The model must not read AWS from it.
      cell("sse", 1000, { storeReadsPerSecond: 1600 }),
      cell("long-poll", 1, { storeReadsPerSecond: 120, clientRequestsPerSecond: 10 }),
      cell("long-poll", 1000, { storeReadsPerSecond: 80, clientRequestsPerSecond: 10_000 }),
    ],
  } as AudienceResults;

  it("takes SSE's per-watcher reads from a lone watcher, and the partition limit from them", () => {
    const { sse } = capacityModel(results);
    expect(sse?.rcuPerWatcher).toBe(90);
    expect(sse?.maxWatchers).toBe(Math.floor(LIMITS.partitionRcu / 90)); // 33: the partition binds before concurrency
    expect(sse?.bindingLimit).toMatch(/partition/);
  });

  it("takes long-poll's per-run reads from the largest audience, and its limit from CDN requests per watcher", () => {
    const { longPoll } = capacityModel(results);
    expect(longPoll?.rcuPerRun).toBe(80);
    expect(longPoll?.rcuPerWatcher).toBe(0);
    expect(longPoll?.maxWatchers).toBe(LIMITS.cdnRequestsPerSecond / 10);
  });

  it("says a mode was not measured rather than inventing it", () => {
    expect(renderCapacity({ ...results, cells: results.cells.filter((c) => c.mode === "sse") })).toContain(
      "not measured",
    );
  });

  it("docs/capacity.md carries exactly the table the measured results give (bench/results.json)", () => {
    const measured = JSON.parse(read("bench/results.json")) as { audience?: AudienceResults };
    expect(measured.audience?.cells.length).toBeGreaterThan(0);
    const doc = read("docs/capacity.md");
    expect(doc).toContain(CAPACITY_MARKERS.begin);
    expect(withCapacityTable(doc, renderCapacity(measured.audience))).toBe(doc);
  });
});
