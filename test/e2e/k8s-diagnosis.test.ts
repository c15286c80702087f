import { type ChildProcess, execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvent, createClient, initialRunProgress, type RunEvent } from "../../packages/client/index.ts";
import { readSse } from "../support/sse.ts";
import { startWithAgent } from "../support/start-line.ts";

/**
 * examples/k8s-diagnosis run as a user runs it: `npm start`'s entry with STAGECAST_AGENT
 * naming the module, over real HTTP and SSE. The run's `params.filter` picks the resource
 * kinds; the tool's findings on the bundled snapshot reach the answer; the typed client's view
 * and `stagecast watch` show the agent's three stages with no code of their own for it.
 */

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MODULE = "examples/k8s-diagnosis/agent.ts";
const STAGES = ["collect", "analyze", "explain"];

/** The snapshot's pods in trouble, and its one Deployment short of replicas. */
const CRASHING = "checkout-api-7c9d8f6b5-x2k4q";
const NO_IMAGE = "report-worker-5d8f9c7b6-h6j2r";
const UNSCHEDULABLE = "checkout-api-7c9d8f6b5-m8n3p";
const UNAVAILABLE = "checkout-api";

type Problem = { kind: string; namespace: string; name: string; problem: string; detail: string };

/** This process's environment minus what would steer the stack or the CLI elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["STAGECAST_URL", "STAGECAST_TOKEN", "STAGECAST_STREAM_URL", "FORCE_COLOR"])
    delete env[key];
  return env;
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function startRun(url: string, filter: string): Promise<string> {
  const res = await post(url, { question: "Why is the shop degraded?", params: { filter } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

/** Every event of the run, read from its stream to the end. */
async function runEvents(url: string, runId: string): Promise<RunEvent[]> {
  const { frames } = await readSse(`${url}/runs/${runId}/stream`, { timeoutMs: 45_000 });
  return frames
    .filter((f) => f.event !== "heartbeat" && f.event !== "reconnect")
    .map((f) => JSON.parse(f.data) as RunEvent);
}

const answerOf = (events: RunEvent[]): string => {
  const last = events.at(-1);
  return last?.type === "run.completed" ? last.data.answer : "";
};
const toolResult = (events: RunEvent[]) => {
  const done = events.find((e) => e.type === "tool.completed");
  return done?.type === "tool.completed" ? done.data : undefined;
};
/** The problems inspect_cluster reported in the run's tool.completed. */
const problemsOf = (events: RunEvent[]): Problem[] =>
  (toolResult(events)?.result as { problems?: Problem[] } | undefined)?.problems ?? [];

describe("examples/k8s-diagnosis, run with STAGECAST_AGENT", () => {
  let stack: { url: string; child: ChildProcess };
  let pods: { runId: string; events: RunEvent[] };
  let deployments: { runId: string; events: RunEvent[] };

  beforeAll(async () => {
    stack = await startWithAgent(ROOT, MODULE, { ...cleanEnv(), OFFLINE_MODEL_TOKENS_PER_SECOND: "400" });
    const [podRun, deploymentRun] = await Promise.all([
      startRun(stack.url, "Pod"),
      startRun(stack.url, "Deployment"),
    ]);
    pods = { runId: podRun, events: await runEvents(stack.url, podRun) };
    deployments = { runId: deploymentRun, events: await runEvents(stack.url, deploymentRun) };
  }, 90_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
  });

  it("the snapshot has the pods and the Deployment the checks below name, in those states", () => {
    const list = JSON.parse(readFileSync(join(ROOT, "examples/k8s-diagnosis/cluster.json"), "utf8")) as {
      kind: string;
      items: Array<{ kind: string; metadata: { name: string }; status?: Record<string, unknown> }>;
    };
    expect(list.kind).toBe("List");
    const status = (kind: string, name: string) =>
      JSON.stringify(list.items.find((i) => i.kind === kind && i.metadata.name === name)?.status);
    expect(status("Pod", CRASHING)).toContain('"reason":"CrashLoopBackOff"');
    expect(status("Pod", NO_IMAGE)).toContain('"reason":"ImagePullBackOff"');
    expect(status("Deployment", UNAVAILABLE)).toContain('"unavailableReplicas":2');
  });

  it("lists collect/analyze/explain in run.queued and completes once, with the run's params stored", async () => {
    expect(pods.events[0]).toMatchObject({
      seq: 1,
      type: "run.queued",
      data: {
        agent: "k8s-diagnosis",
        stages: [
          { name: "collect", weight: 1 },
          { name: "analyze", weight: 1 },
          { name: "explain", weight: 3 },
        ],
      },
    });
    for (const run of [pods, deployments]) {
      expect(run.events.at(-1)?.type).toBe("run.completed");
      expect(
        run.events.filter((e) => /^run\.(completed|failed|cancelled|timed_out)$/.test(e.type)),
      ).toHaveLength(1);
      expect(run.events.filter((e) => e.type === "stage.completed").map((e) => e.stage)).toEqual(STAGES);
      expect(run.events.map((e) => e.seq)).toEqual(run.events.map((_, i) => i + 1));
    }
    const details = await createClient({ baseUrl: stack.url }).getRun(pods.runId);
    expect(details.params).toEqual({ filter: "Pod" });
  });

  it("filter Pod: inspect_cluster reports only pods, the CrashLoopBackOff and ImagePullBackOff ones among them", () => {
    const done = toolResult(pods.events);
    expect(done).toMatchObject({ name: "inspect_cluster", ok: true, input: { kinds: ["Pod"] } });
    const problems = problemsOf(pods.events);
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(new Set(problems.map((p) => p.kind))).toEqual(new Set(["Pod"]));
    expect(problems).toContainEqual(
      expect.objectContaining({ namespace: "shop", name: CRASHING, problem: "CrashLoopBackOff" }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({ namespace: "shop", name: NO_IMAGE, problem: "ImagePullBackOff" }),
    );
    expect(problems.find((p) => p.name === CRASHING)?.detail).toMatch(/restarted 14 times/);
  });

  it("filter Pod: analyze sends its grouping as the stage's data and the elapsed time while the model works", () => {
    const analyzed = pods.events.filter((e) => e.type === "stage.progress" && e.stage === "analyze");
    expect(analyzed.map((e) => e.data)).toContainEqual({
      problems: 3,
      byKind: { Pod: 3 },
      byProblem: { CrashLoopBackOff: 1, Unschedulable: 1, ImagePullBackOff: 1 },
    });
    expect(analyzed.some((e) => /\(\d+ s\)…$/.test(e.message ?? ""))).toBe(true);
    expect(pods.events.filter((e) => e.type === "llm.delta" && e.stage === "explain").length).toBeGreaterThan(
      0,
    );
  });

  it("filter Pod: the answer names the pods the tool found, and no Deployment", () => {
    const answer = answerOf(pods.events);
    for (const name of [CRASHING, NO_IMAGE, UNSCHEDULABLE]) expect(answer).toContain(name);
    expect(answer).toContain("CrashLoopBackOff");
    expect(answer).toContain("ImagePullBackOff");
    expect(answer).not.toContain("Deployment shop/");
    // The explain stage (the third) still sees the run's params: they ride in the run state.
    expect(answer).toContain('Problems found (Pod, filter "Pod"):');
  });

  it("filter Deployment: the answer names the unavailable Deployment and no pod problem", () => {
    const done = toolResult(deployments.events);
    expect(done).toMatchObject({ name: "inspect_cluster", ok: true, input: { kinds: ["Deployment"] } });
    const problems = problemsOf(deployments.events);
    expect(problems).toEqual([
      expect.objectContaining({ kind: "Deployment", name: UNAVAILABLE, problem: "Unavailable" }),
    ]);
    const answer = answerOf(deployments.events);
    expect(answer).toContain(`Deployment shop/${UNAVAILABLE}: Unavailable`);
    for (const text of [
      CRASHING,
      NO_IMAGE,
      UNSCHEDULABLE,
      "CrashLoopBackOff",
      "ImagePullBackOff",
      "Pod shop/",
    ]) {
      expect(answer).not.toContain(text);
    }
  });

  it("gives the typed client's view the three stages, done, and the answer", () => {
    const view = initialRunProgress(pods.runId);
    for (const event of pods.events) applyEvent(view, event);
    expect(view.agent).toBe("k8s-diagnosis");
    expect(view.stages.map((s) => [s.stage, s.weight, s.state])).toEqual([
      ["collect", 1, "done"],
      ["analyze", 1, "done"],
      ["explain", 3, "done"],
    ]);
    expect(view.status).toBe("completed");
    expect(view.answer).toContain(CRASHING);
  });

  it("lists the three stages in `stagecast watch`", async () => {
    const runId = await startRun(stack.url, "Pod");
    const { stdout } = await execFileAsync(
      process.execPath,
      ["--import", "tsx", "packages/cli/bin.ts", "watch", runId, "--url", stack.url],
      { cwd: ROOT, timeout: 60_000, env: cleanEnv() },
    );
    const changes = stdout
      .split("\n")
      .filter((line) => /^\[\d+%\] /.test(line))
      .map((line) => /^\[\d+%\] (\w+): (running|done)\b/.exec(line)?.slice(1).join(": "));
    expect(changes).toEqual(STAGES.flatMap((s) => [`${s}: running`, `${s}: done`]));
    expect(stdout).toContain(CRASHING);
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/^✔ Completed/);
  }, 90_000);

  it("refuses params it cannot take with 400 invalid_request naming the field", async () => {
    for (const params of [{ filter: "x".repeat(1001) }, { "bad-key": 1 }, { filter: { kinds: ["Pod"] } }]) {
      const res = await post(stack.url, { question: "Why?", params });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.message).toMatch(/^params/);
    }
  });
});
