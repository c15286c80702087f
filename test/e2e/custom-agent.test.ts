import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AgentDefinition, StageImpl } from "../../packages/agent/index.ts";
import {
  applyEvent,
  createClient,
  initialRunProgress,
  isTerminalType,
  type RunEvent,
} from "../../packages/client/index.ts";
import { DEFAULT_STAGES } from "../support/agents.ts";
import { collect, expectWholeLog } from "../support/client-helpers.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * A custom agent on the local stack (LocalStackOptions.agent, replacing the built-in one): three
 * stages with names unlike the built-in agent's and weights 1/2/1. The run goes through exactly
 * those stages, its progress bands follow the weights, and every client (the typed client's
 * view, GET /runs/{id}, the CLI) shows those three stages and nothing of the built-in agent.
 */

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The note gather left in the state's outputs, or "nothing". */
const noteOf = (output: unknown) =>
  typeof output === "object" && output !== null && "note" in output ? String(output.note) : "nothing";

/** gather: reports twice, leaves a note in the state. */
const gather: StageImpl = async (ctx) => {
  await ctx.progress("Gathering sources…", { sources: 2 }, 0.5);
  await ctx.progress("Sources gathered.", { sources: 2 }, 1);
  return { state: { outputs: { gather: { note: "two sources" } } }, message: "Gathered two sources." };
};

/** compose_draft: reads the note, reports at a quarter, half and three quarters of its band. */
const composeDraft: StageImpl = async (ctx) => {
  for (const fraction of [0.25, 0.5, 0.75]) {
    await ctx.progress(`Drafting (${fraction * 100}%)…`, { fraction }, fraction);
  }
  return {
    state: { outputs: { ...ctx.state.outputs, draft: `draft from ${noteOf(ctx.state.outputs?.gather)}` } },
    message: "Draft written.",
    data: { paragraphs: 3 },
  };
};

/** polish: the answer, from what both earlier stages left in the state. */
const polish: StageImpl = async (ctx) => {
  await ctx.progress("Polishing…", {}, 0.5);
  return {
    state: { answer: `Polished ${String(ctx.state.outputs?.draft ?? "nothing")}.` },
    message: "Polished.",
  };
};

const WRITER: AgentDefinition = {
  name: "writer",
  stages: [
    { name: "gather", weight: 1, timeoutSeconds: 30, run: gather },
    { name: "compose_draft", weight: 2, timeoutSeconds: 30, run: composeDraft },
    { name: "polish", weight: 1, timeoutSeconds: 30, run: polish },
  ],
};
const NAMES = ["gather", "compose_draft", "polish"];
const LISTED = [
  { name: "gather", weight: 1 },
  { name: "compose_draft", weight: 2 },
  { name: "polish", weight: 1 },
];
/** Each stage's band of 0–100: weight / Σ weights (4), in order. */
const BANDS: Record<string, [number, number]> = {
  gather: [0, 25],
  compose_draft: [25, 75],
  polish: [75, 100],
};
const ANSWER = "Polished draft from two sources.";

/** This process's environment minus what would steer the CLI elsewhere. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["STAGECAST_URL", "STAGECAST_TOKEN", "STAGECAST_STREAM_URL", "FORCE_COLOR"])
    delete env[key];
  return env;
}

type Stack = Awaited<ReturnType<typeof startTestStack>>;
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({}, { agent: WRITER });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** Start a run, follow it with the typed client to its end, and return its events. */
async function completedRun(question: string): Promise<{ runId: string; events: RunEvent[] }> {
  const client = createClient({ baseUrl: stack.url });
  const { runId } = await client.startRun({ question });
  const events = await collect(client.subscribe(runId));
  expectWholeLog(events, runId);
  return { runId, events };
}

describe("a custom three-stage agent on the local stack", () => {
  let run: { runId: string; events: RunEvent[] };
  beforeAll(async () => {
    run = await completedRun("Write me something about stages.");
  }, 60_000);

  it("completes, going through exactly its own stages, with the answer its last stage wrote", () => {
    const { events } = run;
    const last = events.at(-1);
    expect(last?.type).toBe("run.completed");
    if (last?.type === "run.completed") expect(last.data.answer).toBe(ANSWER);
    expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
    expect(events.filter((e) => e.type === "stage.started").map((e) => e.stage)).toEqual(NAMES);
    expect(events.filter((e) => e.type === "stage.completed").map((e) => e.stage)).toEqual(NAMES);
    expect(events.filter((e) => e.type === "stage.started").map((e) => e.data)).toEqual(
      NAMES.map((_, index) => ({ index, total: 3 })),
    );
    const named = new Set(events.flatMap((e) => (e.stage ? [e.stage] : [])));
    expect([...named].sort()).toEqual([...NAMES].sort());
  });

  it("lists the agent and its three stages ({ name, weight }) in run.queued", () => {
    expect(run.events[0]).toMatchObject({
      seq: 1,
      type: "run.queued",
      data: { question: "Write me something about stages.", agent: "writer", stages: LISTED },
    });
  });

  it("never lowers progress, and each stage's events stay in its weight's band", () => {
    const progress = run.events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    for (const event of run.events) {
      if (!event.stage) continue;
      const [from, to] = BANDS[event.stage] ?? [Number.NaN, Number.NaN];
      expect(event.progress, `${event.type} of ${event.stage}`).toBeGreaterThanOrEqual(from);
      expect(event.progress, `${event.type} of ${event.stage}`).toBeLessThanOrEqual(to);
    }
    const at = (type: string, stage: string) =>
      run.events.find((e) => e.type === type && e.stage === stage)?.progress;
    for (const stage of NAMES) {
      expect(at("stage.started", stage), stage).toBe(BANDS[stage]?.[0]);
      expect(at("stage.completed", stage), stage).toBe(BANDS[stage]?.[1]);
    }
    // compose_draft's quarter, half and three quarters of 25–75.
    expect(
      run.events
        .filter((e) => e.type === "stage.progress" && e.stage === "compose_draft")
        .map((e) => e.progress),
    ).toEqual([37.5, 50, 62.5]);
    expect(run.events.at(-1)?.progress).toBe(100);
  });

  it("gives the typed client's view exactly those three stages, done, in order", () => {
    const view = initialRunProgress(run.runId);
    for (const event of run.events) applyEvent(view, event);
    expect(view.agent).toBe("writer");
    expect(view.stages.map((s) => [s.stage, s.weight, s.state])).toEqual(
      LISTED.map((s) => [s.name, s.weight, "done"]),
    );
    expect(view.status).toBe("completed");
    expect(view.answer).toBe(ANSWER);
    // A client joining after run.queued takes the list from GET /runs/{id} instead.
    const joined = initialRunProgress(run.runId, LISTED);
    for (const event of run.events.slice(1)) applyEvent(joined, event);
    expect(joined.stages.map((s) => [s.stage, s.state])).toEqual(NAMES.map((s) => [s, "done"]));
  });

  it("shows the agent and its stages in GET /runs/{id}, with estimates for those stages only", async () => {
    await stack.workflow.idle();
    const client = createClient({ baseUrl: stack.url });
    let details = await client.getRun(run.runId);
    expect(details).toMatchObject({
      runId: run.runId,
      status: "completed",
      agent: "writer",
      stages: LISTED,
      answer: ANSWER,
      progress: 100,
    });
    // Statistics are written after the run's own events, best effort: wait for all three.
    await vi.waitFor(
      async () => {
        details = await client.getRun(run.runId);
        expect(Object.keys(details.stageEstimates).sort()).toEqual([...NAMES].sort());
      },
      { timeout: 10_000, interval: 50 },
    );
    for (const stage of NAMES) expect(details.stageEstimates[stage]?.runs).toBeGreaterThanOrEqual(1);
    // Kept under this agent: the built-in agent has no history of them.
    expect(await stack.store.stageStats.estimates("default", NAMES)).toEqual({});
    expect(await stack.store.stageStats.estimates("default", DEFAULT_STAGES)).toEqual({});
  });

  it("lists its three stages in `stagecast watch`, and none of the built-in agent's", async () => {
    const { runId } = await startRun(stack.url, { question: "Watch my three stages." });
    const { stdout } = await execFileAsync(
      process.execPath,
      ["--import", "tsx", "packages/cli/bin.ts", "watch", runId, "--url", stack.url],
      { cwd: ROOT, timeout: 60_000, env: cliEnv() },
    );
    const changes = stdout
      .split("\n")
      .filter((line) => /^\[\d+%\] /.test(line))
      .map((line) => {
        const m = /^\[(\d+)%\] (\w+): (running|done)\b/.exec(line);
        expect(m, `stage line: ${line}`).not.toBeNull();
        return `${m?.[2]}: ${m?.[3]}`;
      });
    expect(changes).toEqual(NAMES.flatMap((s) => [`${s}: running`, `${s}: done`]));
    expect(stdout).toContain(ANSWER);
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/^✔ Completed/);
    for (const stage of DEFAULT_STAGES) expect(stdout).not.toMatch(new RegExp(`\\b${stage}:`));
  }, 90_000);
});
