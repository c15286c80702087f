import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/**
 * The benchmark at tiny sizes (`--smoke`), as `npm run bench` runs it but writing to a
 * temporary directory: every scenario must still run and produce its figures, so the bench
 * cannot rot. Targets are printed, not asserted: timing belongs to the benchmark, not to tests.
 * The audience scenario puts varnishd in front of the stack (scripts/setup.sh installs Debian's
 * varnish); without it the bench stops at once with a message saying so, and this test fails.
 */
describe("npm run bench -- --smoke", () => {
  it("runs every scenario and writes results.json and the report", async () => {
    const out = mkdtempSync(join(tmpdir(), "stagecast-bench-"));
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "bench/main.ts", "--smoke", "--out", out],
      {
        cwd: join(import.meta.dirname, "../.."),
        timeout: 170_000,
      },
    );
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    expect(results.meta.sizes.repeats).toBe(1);
    expect(results.latencyByWatchers.map((l: { watchers: number }) => l.watchers)).toEqual([1, 3]);
    for (const l of [...results.latencyByWatchers, ...results.latencyByRuns]) {
      expect(l.n).toBeGreaterThan(0);
      expect(l.p50.median).toBeGreaterThanOrEqual(0);
      expect(l.errors).toEqual([]);
      expect(l.complete).toBe(l.expected);
    }
    expect(results.timeToFirst.firstDeltaMs.median).toBeGreaterThan(results.timeToFirst.firstEventMs.median);
    // Every stored event is one PutItem; the counter saw the run's writes and the streams' reads.
    expect(results.requests.oneWatcher.eventPutsPerEvent.median).toBe(1);
    expect(results.requests.oneWatcher.tailReads.median).toBeGreaterThan(0);
    expect(results.requests.deltaRates).toHaveLength(2);
    expect(results.sustained.runsCompleted).toBeGreaterThan(0);
    for (const alt of ["stagecast", "storePoll2s", "direct", "getPoll500ms"])
      expect(results.alternatives[alt].n).toBeGreaterThan(0);
    expect(results.cost.totalPer1000).toBeGreaterThan(0);
    // The audience scenario: both modes at each size, every watcher complete; long-poll through
    // Varnish reached the origin and the store, and delivered events.
    const cells = results.audience.cells as Array<{
      mode: string;
      watchers: number;
      notMeasured?: string;
      complete: number;
      missingDeltas: number;
      originRequestsPerSecond: number;
      storeReadsPerSecond: number;
      latency: { n: number };
      errors: string[];
    }>;
    expect(cells.map((c) => `${c.mode} ${c.watchers}`)).toEqual([
      "long-poll 1",
      "long-poll 5",
      "sse 1",
      "sse 5",
    ]);
    for (const c of cells) {
      expect(c.notMeasured).toBeUndefined();
      expect(c.errors).toEqual([]);
      expect(c.complete).toBe(c.watchers);
      expect(c.missingDeltas).toBe(0);
      expect(c.latency.n).toBeGreaterThan(0);
      expect(c.storeReadsPerSecond).toBeGreaterThan(0);
    }
    for (const c of cells.filter((c) => c.mode === "long-poll"))
      expect(c.originRequestsPerSecond).toBeGreaterThan(0);
    expect(results.targets).toHaveLength(11);
    for (const t of results.targets) expect(stdout).toContain(`${t.pass ? "PASS" : "FAIL"}  ${t.target}`);
    const report = readFileSync(join(out, "benchmarks.md"), "utf8");
    expect(report).toContain("npm run bench -- --smoke");
    expect(report).toMatch(
      /## Targets[\s\S]*## 1\. Event latency[\s\S]*## 5\. Against the alternatives[\s\S]*## 6\. Audience[\s\S]*## Cost on AWS/,
    );
  }, 180_000);
});
