import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import { readSse } from "../support/sse.ts";
import { startRun } from "../support/stack.ts";

/**
 * The whole local stack as a real process (`node --import tsx local/stack/main.ts`, on this
 * test's Node), on an on-disk store, killed with SIGKILL mid-run and started again.
 */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "local/stack/main.ts"], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: "0",
      POWERTOOLS_LOG_LEVEL: "WARN",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no start-up line; output: ${out}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Stagecast is running at (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

describe("a local process killed mid-run", () => {
  it("is restarted on the same on-disk store: the run ends at once with server_restarted, its earlier events intact and its slot free", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stagecast-crash-"));
    try {
      const env = {
        DATA_DIR: dir,
        AUTH: "off",
        OFFLINE_MODEL_TOKENS_PER_SECOND: "20",
        // The defaults: the periodic sweep would take 20 minutes; the start-up must not wait for it.
        RUN_SILENCE_MS: "1200000",
        // One run at a time per owner: the dead process's run must not hold the slot.
        MAX_ACTIVE_RUNS: "1",
      };
      const first = await startProcess(env);
      const started = await startRun(first.url, { question: "Survive a crash" });
      const before = await readSse(started.links.stream, { stopAfter: (f) => f.length >= 8 });
      expect(before.frames).toHaveLength(8);
      first.child.kill("SIGKILL");
      await new Promise((r) => first.child.once("exit", r));

      const restartedAt = Date.now();
      const second = await startProcess(env);
      const streamUrl = started.links.stream.replace(first.url, second.url);
      const after = await readSse(streamUrl, { timeoutMs: 20_000 });
      const recoveryMs = Date.now() - restartedAt;
      const events = after.frames
        .filter((f) => f.event !== "heartbeat")
        .map((f) => JSON.parse(f.data) as RunEvent);
      // Everything seen before the crash is still there, unchanged, followed by one ending.
      expect(events.slice(0, 8).map((e) => JSON.stringify(e))).toEqual(before.frames.map((f) => f.data));
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
      const last = events.at(-1);
      if (last?.type !== "run.failed") throw new Error(`expected run.failed, got ${last?.type}`);
      expect(last.data.error.code).toBe("server_restarted");
      // Ended by the start-up itself, not by a sweep after RUN_SILENCE_MS.
      expect(recoveryMs).toBeLessThan(15_000);
      const status = await (await fetch(started.links.self.replace(first.url, second.url))).json();
      expect(status.status).toBe("failed");
      // The owner's only active-run slot is free again: a new run is accepted (not 429).
      const next = await startRun(second.url, { question: "And now?" });
      expect(next.runId).not.toBe(started.runId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
