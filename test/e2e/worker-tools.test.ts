import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { readSse } from "../support/sse.ts";
import { startWithAgent } from "../support/start-line.ts";

/**
 * An agent's own worker tools (`defineTool({ isolation: "worker", run(input) })`) on the local
 * stack, started as a user starts it (`npm start`'s entry under tsx, STAGECAST_AGENT): the
 * stage calls them with `ctx.tool`, a tool worker imports the agent module and runs them. A
 * second agent breaks the definition rule in each way a worker can notice, and its run gets
 * the error codes in its tool.completed events.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = "test/packages/agent/tools/fixtures";

type ToolCompleted = Extract<RunEvent, { type: "tool.completed" }>["data"];

/** Start a run of `question` and read its stream to the end: every event, in order. */
async function runToEnd(url: string, question: string): Promise<RunEvent[]> {
  const res = await fetch(`${url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const { frames } = await readSse(`${url}/runs/${runId}/stream`, { timeoutMs: 30_000 });
  return frames
    .filter((f) => f.event !== "heartbeat" && f.event !== "reconnect")
    .map((f) => JSON.parse(f.data) as RunEvent);
}

/** The tool.completed events' data by tool name. */
function toolsOf(events: RunEvent[]): Record<string, ToolCompleted> {
  return Object.fromEntries(
    events.flatMap((e) => (e.type === "tool.completed" ? [[e.data.name, e.data] as const] : [])),
  );
}

/** The run's answer (run.completed's `answer`). */
function answerOf(events: RunEvent[]): string | undefined {
  const last = events.at(-1);
  return last?.type === "run.completed" ? (last.data as { answer?: string }).answer : undefined;
}

/** This process's environment without settings that would steer the stack elsewhere. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = { ...process.env, ...extra };
  for (const key of ["STAGECAST_URL", "STAGECAST_TOKEN", "STAGECAST_STREAM_URL", "FORCE_COLOR"])
    delete clean[key];
  return clean;
}

/** Stop a stack started by this file, by its pid. */
function stop(stack: { child: ChildProcess } | undefined): void {
  if (stack?.child.pid && stack.child.exitCode === null) process.kill(stack.child.pid, "SIGTERM");
}

describe("an agent's worker tools on the local stack (STAGECAST_AGENT)", () => {
  let stack: { url: string; child: ChildProcess } | undefined;
  beforeAll(async () => {
    stack = await startWithAgent(ROOT, `${FIXTURES}/worker-agent.ts`, env());
  }, 60_000);
  afterAll(() => stop(stack));

  it("runs them in a tool worker that loads the agent module: their results reach the answer", async () => {
    const events = await runToEnd(String(stack?.url), "How many primes are there below 100000?");
    const tools = toolsOf(events);
    expect(tools.count_primes).toMatchObject({ ok: true, result: { below: 100_000, primes: 9592 } });
    // Not the stage's thread: a worker, whose heap (agent module, "stagecast", zod) fits its limit.
    expect(tools.worker_heap).toMatchObject({ ok: true, result: { isMainThread: false } });
    const heap = tools.worker_heap?.result as { oldSpaceMb: number; largeObjectMb: number };
    expect(heap.oldSpaceMb + heap.largeObjectMb).toBeLessThan(48);
    // A data file beside the module, read by the worker.
    expect(tools.fixture_words).toMatchObject({ ok: true, result: { words: ["alpha", "beta", "gamma"] } });
    expect(events.at(-1)).toMatchObject({ type: "run.completed" });
    expect(answerOf(events)).toBe("There are 9592 primes below 100000; the words are alpha, beta, gamma.");
  }, 60_000);
});

describe("an agent whose worker tools break the definition rule", () => {
  let stack: { url: string; child: ChildProcess } | undefined;
  beforeAll(async () => {
    stack = await startWithAgent(
      ROOT,
      `${FIXTURES}/worker-agent-broken.ts`,
      env({ FIXTURE_WORKER_EXTRA: "1", FIXTURE_WORKER_MAX: "100" }),
    );
  }, 60_000);
  afterAll(() => stop(stack));

  it("gets tool_not_in_module and tool_module_mismatch in tool.completed, and a worker never sees module state a stage set", async () => {
    const events = await runToEnd(String(stack?.url), "Misuse the worker tools.");
    const tools = toolsOf(events);
    // The stage set `region` before the call; the worker's own copy of the module still has "unset".
    expect(tools.read_region).toMatchObject({ ok: true, result: { region: "unset" } });
    // Listed only under an environment variable the worker does not have.
    expect(tools.extra_sum?.ok).toBe(false);
    expect(tools.extra_sum?.error?.code).toBe("tool_not_in_module");
    expect(tools.extra_sum?.error?.message).toContain(
      "a worker tool must be defined at the module's top level and listed in the agent's tools",
    );
    // Its input schema depends on the environment; its code depends on the environment (both
    // threads load the module with tsx, so the code is compared too).
    expect(tools.clamp?.error?.code).toBe("tool_module_mismatch");
    expect(tools.pick_mode?.error?.code).toBe("tool_module_mismatch");
    expect(tools.pick_mode?.error?.message).toContain("is not the definition this run registered");
    expect(events.at(-1)).toMatchObject({ type: "run.completed" });
    expect(answerOf(events)).toBe(
      "Tool outcomes: ok, tool_not_in_module, tool_module_mismatch, tool_module_mismatch.",
    );
  }, 60_000);
});
