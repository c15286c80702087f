import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { METRIC, powertoolsMeter } from "../../packages/observability/metrics.ts";

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

describe("the test tree mirrors the source tree (docs/architecture.md, Tests)", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  /** Every test file under test/, as a repository path (untracked ones too: a new file is checked before its commit). */
  const testFiles = readdirSync(join(root, "test"), { recursive: true, encoding: "utf8" })
    .map((file) => `test/${file.split(sep).join("/")}`)
    .filter((file) => file.endsWith(".test.ts"));
  /** Folders of test/ that mirror the source tree: test/<path>.test.ts tests <path>.ts. */
  const MIRRORED = ["packages", "local", "functions", "bench", "scripts"];
  /** Folders of test/ that hold what mirrors no single module. */
  const APART = ["e2e", "repo", "infra", "support", "clients"];
  const topFolder = (file: string) => file.split("/")[1] ?? "";

  it("names every test file in test/packages, local, functions, bench and scripts after a source file", () => {
    expect(testFiles.filter((file) => topFolder(file) === "packages").length).toBeGreaterThan(10);
    const orphans = testFiles
      .filter((file) => MIRRORED.includes(topFolder(file)))
      .filter((file) => {
        const source = file.slice("test/".length, -".test.ts".length);
        return ![".ts", ".tsx", ".sh"].some((ext) => existsSync(join(root, `${source}${ext}`)));
      });
    expect(orphans, "X.test.ts needs X.ts, X.tsx or X.sh at the same path outside test/").toEqual([]);
  });

  it("keeps every other test file in test/e2e, repo, infra, support or clients, none directly in test/", () => {
    const misplaced = testFiles.filter(
      (file) => file.split("/").length < 3 || ![...MIRRORED, ...APART].includes(topFolder(file)),
    );
    expect(misplaced).toEqual([]);
  });
});
