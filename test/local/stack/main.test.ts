import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startLine } from "../../support/start-line.ts";

/** The pids of every process under `pid` (children, grandchildren …), from ps. */
function descendants(pid: number): number[] {
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of rows)
      if (ppid === parent) {
        out.push(child);
        walk(child);
      }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

describe("npm start", () => {
  it("stops everything it started when its own pid gets SIGTERM (kill <pid of npm start>)", async () => {
    const npm: ChildProcess = spawn("npm", ["start"], {
      env: { ...process.env, PORT: "0", AUTH: "off", POWERTOOLS_LOG_LEVEL: "WARN" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = await startLine(npm);
    const below = descendants(npm.pid ?? -1);
    started.push(...below);
    expect(below.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/runs`)).status).toBe(200);

    npm.kill("SIGTERM");
    await new Promise((r) => npm.once("exit", r));
    // Every process npm started is gone within a few seconds, and the port is no longer served.
    const deadline = Date.now() + 10_000;
    while (below.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(below.filter(alive)).toEqual([]);
    await expect(fetch(`${url}/runs`)).rejects.toThrow();
  }, 60_000);
});
