import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Where a tool lives on this machine (Debian's python3, not a version manager's shim). */
const which = (tool: string) =>
  tool === "python3"
    ? "/usr/bin/python3"
    : spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();

describe("scripts/setup.sh (the pretest hook of npm test)", () => {
  it("stops at once, before any test, with the exact apt-get command when packages are missing and it may not install them", () => {
    // A PATH with everything the script needs except cmake, no sudo, and no chromium where the
    // browser tests would look for it.
    const bin = mkdtempSync(join(tmpdir(), "stagecast-setup-"));
    try {
      for (const tool of [
        "bash",
        "make",
        "g++",
        "unzip",
        "python3",
        "id",
        "dirname",
        "cat",
        "cut",
        "sha256sum",
      ]) {
        symlinkSync(which(tool), join(bin, tool));
      }
      const env = { PATH: bin, CHROMIUM_PATH: join(bin, "chromium") };
      // As root, run it as `nobody`, who may not install packages; anyone else already may not.
      const asRoot = process.getuid?.() === 0;
      const command = asRoot ? which("setpriv") : join(bin, "bash");
      const args = asRoot
        ? ["--reuid=65534", "--regid=65534", "--clear-groups", join(bin, "bash"), "scripts/setup.sh"]
        : ["scripts/setup.sh"];
      const started = Date.now();
      const result = spawnSync(command, args, { env, encoding: "utf8", timeout: 20_000 });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("missing here: chromium cmake");
      expect(result.stderr).toContain("sudo apt-get update && sudo apt-get install -y chromium cmake");
      // "At once": no download, no install attempt.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it("is what npm test runs first", async () => {
    const pkg = (await import("../../package.json", { with: { type: "json" } })).default as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toMatch(/^bash scripts\/setup\.sh && /);
  });
});
