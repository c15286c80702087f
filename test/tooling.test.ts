import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { METRIC, powertoolsMeter } from "../packages/observability/metrics.ts";

describe("the test run's own hygiene", () => {
  it("prints no raw EMF metric lines: publishing a metric under the tests writes nothing to stdout", () => {
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const meter = powertoolsMeter();
      meter.count(METRIC.RunsStarted);
      meter.publish();
    } finally {
      spy.mockRestore();
    }
    expect(writes.filter((w) => w.includes("_aws"))).toEqual([]);
  });

  it("Biome honours .gitignore: a badly formatted file in an ignored folder does not fail the lint", () => {
    // `.data/` is in .gitignore (the local stack's DATA_DIR suggestion).
    mkdirSync(".data", { recursive: true });
    writeFileSync(".data/lint-ignore-check.ts", "const   x=1\n");
    try {
      const result = spawnSync("npx", ["biome", "check", "--error-on-warnings", "."], { encoding: "utf8" });
      expect(result.stdout + result.stderr).not.toContain("lint-ignore-check.ts");
      expect(result.status).toBe(0);
    } finally {
      rmSync(".data/lint-ignore-check.ts", { force: true });
    }
  });
});

describe("the repository stands on its own", () => {
  it("no tracked file points outside the repository (a clone has nothing beside it)", () => {
    // Built from parts so this file does not match itself.
    const outside = ["\\.\\./", "shared/"].join("");
    const result = spawnSync("git", ["grep", "-n", "-E", outside, "--", ".", ":!package-lock.json"], {
      encoding: "utf8",
    });
    expect(result.stdout).toBe("");
  });
});
