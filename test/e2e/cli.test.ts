import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import snapshot from "../../examples/k8s-diagnosis/cluster.json" with { type: "json" };
import { findProblems, type Problem, SnapshotSchema } from "../../examples/k8s-diagnosis/cluster.ts";
import { applyEvent, initialRunProgress, stageDataLine } from "../../packages/client/index.ts";
import { isTerminalType, type RunEvent, RunEventSchema } from "../../packages/events/schema.ts";
import { DEFAULT_STAGES as STAGES } from "../support/agents.ts";
import { startRun, startTestStack } from "../support/stack.ts";
import { startWithAgent } from "../support/start-line.ts";

/**
 * The terminal client (packages/cli, bin/stagecast.mjs, the `ask` / `stagecast` npm scripts)
 * run as a real child process against real local stacks. stdout is a pipe, so the plain view
 * is what `ask` / `watch` print without --json.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const QUESTION = "How do I stream progress from Lambda?";
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** A valid ULID no run has. */
const UNKNOWN_RUN = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

let open: Stack; // AUTH=off
let secured: Stack; // AUTH=jwt, with a devToken

beforeAll(async () => {
  open = await startTestStack();
  secured = await startTestStack({ AUTH: "jwt" });
}, 60_000);

afterAll(async () => {
  await open?.stop();
  await secured?.stop();
});

// ---------------------------------------------------------------------------------------------
// Children

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout so far. */
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
  exited: Promise<Exit>;
  /** Resolves once stdout so far passes `test`; rejects if the child exits first. */
  waitForStdout(test: RegExp | ((stdout: string) => boolean)): Promise<void>;
}

const live = new Set<Running>();

/** The environment a child starts from: this one, minus anything that would steer the CLI. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ["STAGECAST_URL", "STAGECAST_TOKEN", "STAGECAST_STREAM_URL", "FORCE_COLOR"])
    delete env[key];
  return env;
}

function launch(command: string, argv: string[], env: Record<string, string> = {}): Running {
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let closed = false;
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr.on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      closed = true;
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const running: Running = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout: (test) =>
      new Promise<void>((resolve, reject) => {
        const failure = () => new Error(`exited before stdout matched ${test}:\n${out}\n${err}`);
        const cleanup = () => {
          child.stdout.off("data", check);
          child.off("close", onClose);
        };
        /** Settle once `test` passes (or throws); true when settled. */
        const settled = () => {
          try {
            if (!(typeof test === "function" ? test(out) : test.test(out))) return false;
            resolve();
          } catch (error) {
            reject(error);
          }
          cleanup();
          return true;
        };
        const check = () => void settled();
        const onClose = () => {
          cleanup();
          reject(failure());
        };
        if (settled()) return;
        if (closed) return reject(failure());
        child.stdout.on("data", check);
        child.once("close", onClose);
      }),
  };
  live.add(running);
  void exited.finally(() => live.delete(running)).catch(() => undefined);
  return running;
}

/** `node --import tsx packages/cli/bin.ts …args`. */
const cli = (args: string[], env: Record<string, string> = {}) =>
  launch(process.execPath, ["--import", "tsx", "packages/cli/bin.ts", ...args], env);

// ---------------------------------------------------------------------------------------------
// Server helpers

async function getJson<T>(url: string, token?: string): Promise<T> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status, `GET ${url}`).toBe(200);
  return (await res.json()) as T;
}

interface RunView {
  runId: string;
  status: string;
  question: string;
  projectId?: string;
  conversationId?: string;
  answer?: string;
  error?: { code: string; message: string };
}

const getRun = (stack: Stack, runId: string, token?: string) =>
  getJson<RunView>(`${stack.url}/runs/${runId}`, token);

/** The run's whole stored log, as GET /runs/{id}/events answers it. */
const serverLog = async (stack: Stack, runId: string, token?: string) =>
  (await getJson<{ events: RunEvent[] }>(`${stack.url}/runs/${runId}/events?limit=1000`, token)).events;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll GET /runs/{id} until the run has ended (the test timeout is the backstop). */
async function untilEnded(stack: Stack, runId: string, token?: string): Promise<RunView> {
  for (;;) {
    const run = await getRun(stack, runId, token);
    if (!["queued", "running"].includes(run.status)) return run;
    await sleep(50);
  }
}

/** The offline model's test knobs of the open stack. */
async function knobs(method: "POST" | "DELETE", body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${open.offlineModelUrl}/_offline/knobs`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  expect(res.status, `${method} /_offline/knobs`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Output helpers

/** stdout as NDJSON events, each validated by the shared schema. */
function ndjson(stdout: string): RunEvent[] {
  expect(stdout.endsWith("\n"), "stdout ends with a newline").toBe(true);
  return stdout
    .slice(0, -1)
    .split("\n")
    .map((line) => RunEventSchema.parse(JSON.parse(line)));
}

function lastLine(stdout: string): string {
  return stdout.trimEnd().split("\n").at(-1) ?? "";
}

/** The run id `ask` prints on stderr (`run <id>`). */
function runIdFrom(stderr: string): string {
  const m = /^run (\S+)$/m.exec(stderr);
  expect(m, `stderr names the run: ${stderr}`).not.toBeNull();
  const id = m?.[1] ?? "";
  expect(id).toMatch(ULID);
  return id;
}

const occurrences = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/** A one-line error on stderr, without a stack trace. */
function expectOneLineError(stderr: string) {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
  expect(stderr).toMatch(/^stagecast: /);
  expect(stderr).not.toMatch(/^\s+at /m);
}

afterEach(async () => {
  // A test that failed half-way may leave a child running: stop it (its own pid only).
  for (const running of live) running.child.kill("SIGKILL");
  await Promise.all([...live].map((r) => r.exited.catch(() => undefined)));
  // Back to the defaults: no failures, the configured pace.
  const reset = await knobs("DELETE");
  expect(reset.failNext).toEqual({ count: 0, status: 500 });
});

// ---------------------------------------------------------------------------------------------

describe("stagecast ask", () => {
  it("--json prints each event as one schema-valid JSON line, seqs 1..N, ending in run.completed, and exits 0", async () => {
    // The question as several words: <question...> joins them.
    const r = await cli(["ask", "--json", "--url", open.url, ...QUESTION.split(" ")]).exited;
    expect(r.code, r.stderr).toBe(0);
    const events = ndjson(r.stdout);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => isTerminalType(e.type)).map((e) => e.type)).toEqual(["run.completed"]);
    expect(events.at(-1)?.type).toBe("run.completed");
    const first = events[0];
    expect(first?.type).toBe("run.queued");
    if (first?.type === "run.queued") expect(first.data.question).toBe(QUESTION);
    const runId = first?.runId ?? "";
    expect(events.every((e) => e.runId === runId)).toBe(true);
    // Nothing else on stdout: exactly the server's log, event for event.
    expect(events).toEqual(await serverLog(open, runId));
    expect((await getRun(open, runId)).status).toBe("completed");
  });

  it("plain view: a line per stage change in STAGES order, the answer once, then ✔ Completed; run id on stderr", async () => {
    const r = await cli(["ask", "--url", open.url, QUESTION]).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^run [0-9A-HJKMNP-TV-Z]{26}\n$/);
    const runId = runIdFrom(r.stderr);
    const run = await getRun(open, runId);
    expect(run.status).toBe("completed");
    expect(run.answer).toBeTruthy();
    const answer = run.answer ?? "";

    // No escape codes: stdout is a pipe.
    expect(r.stdout).not.toContain("\x1b");
    expect(r.stdout.endsWith("\n")).toBe(true);

    const stageLines = r.stdout.split("\n").filter((line) => /^\[\d+%\] /.test(line));
    const parsed = stageLines.map((line) => {
      const m = /^\[(\d+)%\] (\w+): (running|done \(.+\))$/.exec(line);
      expect(m, `stage line: ${line}`).not.toBeNull();
      return { percent: Number(m?.[1]), change: `${m?.[2]}: ${m?.[3]?.split(" ")[0]}` };
    });
    expect(parsed.map((p) => p.change)).toEqual(STAGES.flatMap((s) => [`${s}: running`, `${s}: done`]));
    const percents = parsed.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));

    expect(occurrences(r.stdout, answer)).toBe(1);
    expect(lastLine(r.stdout)).toMatch(/^✔ Completed/);

    // A stage that sent data (stage.progress data) has its latest data on the line after its
    // done line, indented, as the client writes it on one line; a stage without data has none.
    const view = initialRunProgress(runId);
    for (const event of await serverLog(open, runId)) applyEvent(view, event);
    const lines = r.stdout.split("\n");
    const dataLines = view.stages.flatMap((stage) => (stage.data ? [`  ${stageDataLine(stage)}`] : []));
    expect(dataLines.length, "the built-in agent's stages send data").toBeGreaterThan(0);
    for (const stage of view.stages) {
      const done = lines.findIndex(
        (line) => line.startsWith(`[`) && line.includes(`] ${stage.stage}: done (`),
      );
      expect(done, stage.stage).toBeGreaterThanOrEqual(0);
      if (stage.data) expect(lines[done + 1], stage.stage).toBe(`  ${stageDataLine(stage)}`);
      else expect(lines[done + 1], stage.stage).not.toMatch(/^ {2}/);
    }
    expect(dataLines.every((line) => line.length <= 202)).toBe(true);

    // Everything on stdout is a stage line, a stage's data line, the answer, the blank separator or the outcome.
    const rest = r.stdout
      .replace(answer, "")
      .split("\n")
      .filter(
        (line) =>
          line !== "" &&
          !/^\[\d+%\] /.test(line) &&
          !dataLines.includes(line) &&
          !line.startsWith("✔ Completed"),
      );
    expect(rest).toEqual([]);
  });

  it("--project and --conversation reach the run", async () => {
    const r = await cli([
      "ask",
      "--json",
      "--url",
      open.url,
      "--project",
      "cli-proj",
      "--conversation",
      "cli-conv",
      QUESTION,
    ]).exited;
    expect(r.code, r.stderr).toBe(0);
    const runId = ndjson(r.stdout)[0]?.runId ?? "";
    const run = await getRun(open, runId);
    expect(run.projectId).toBe("cli-proj");
    expect(run.conversationId).toBe("cli-conv");
  });

  // `stagecast ask --json "…" | head -1`: the reader goes away; the CLI stops quietly with
  // 141 (128 + SIGPIPE), not a stack trace and not 1 ("the run failed").
  it("a reader that closes stdout early (`| head -1`) gets no stack trace and no 'failed' exit code", async () => {
    const asking = cli(["ask", "--json", "--url", open.url, QUESTION]);
    await asking.waitForStdout(/\n/);
    const runId = RunEventSchema.parse(JSON.parse(asking.stdout().split("\n")[0] ?? "")).runId;
    asking.child.stdout.destroy();
    const r = await asking.exited;
    await untilEnded(open, runId); // leave no run going behind
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code, r.stderr).toBe(141);
  });
});

describe("stagecast ask --param, against the k8s-diagnosis example agent", () => {
  const MODULE = "examples/k8s-diagnosis/agent.ts";
  const QUESTION_K8S = "Why is the shop degraded?";
  let k8s: { url: string; child: ChildProcess } | undefined;
  const url = () => k8s?.url ?? "";

  beforeAll(async () => {
    k8s = await startWithAgent(ROOT, MODULE, { ...baseEnv(), OFFLINE_MODEL_TOKENS_PER_SECOND: "400" });
  }, 60_000);
  afterAll(() => {
    if (k8s?.child.pid) process.kill(k8s.child.pid, "SIGTERM");
  });

  /** How many runs the stack has (AUTH=off: all of them are the one anonymous caller's). */
  const runCount = async () => (await getJson<{ runs: unknown[] }>(`${url()}/runs?limit=50`)).runs.length;
  /** The example's own finding on its bundled snapshot, for these kinds. */
  const problemsIn = (...kinds: Array<"Pod" | "Deployment" | "Service">) =>
    findProblems(SnapshotSchema.parse(snapshot), kinds).problems;
  const lineOf = (p: Problem) => `${p.kind} ${p.namespace}/${p.name}: ${p.problem}`;

  it("--param filter=Pod narrows the analysis to pods, typed params reach the run, and analyze's data is printed under its line", async () => {
    const pods = problemsIn("Pod");
    const others = problemsIn("Deployment", "Service");
    expect(pods.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    const r = await cli([
      "ask",
      "--url",
      url(),
      "--param",
      "filter=Pod",
      "--param",
      "verbose=true",
      "--param",
      "depth=2",
      QUESTION_K8S,
    ]).exited;
    expect(r.code, r.stderr).toBe(0);
    const runId = runIdFrom(r.stderr);
    const run = await getJson<{ params?: unknown }>(`${url()}/runs/${runId}`);
    expect(run.params).toEqual({ filter: "Pod", verbose: true, depth: 2 });

    // The tool looked at pods only, and found exactly the snapshot's pod problems.
    const log = (await getJson<{ events: RunEvent[] }>(`${url()}/runs/${runId}/events?limit=1000`)).events;
    const tool = log.find((e) => e.type === "tool.completed");
    expect(tool?.type === "tool.completed" && tool.data.input).toEqual({ kinds: ["Pod"] });
    const found = (tool?.type === "tool.completed" ? tool.data.result : undefined) as { problems: Problem[] };
    expect(found.problems).toEqual(pods);

    // The answer (on stdout) lists the pod problems and nothing of the other kinds.
    for (const p of pods) expect(r.stdout).toContain(lineOf(p));
    for (const p of others) expect(r.stdout).not.toContain(`${p.kind} ${p.namespace}/${p.name}`);
    expect(r.stdout).toContain('Problems found (Pod, filter "Pod"):');

    // analyze's data, on the line after its done line.
    const byProblem: Record<string, number> = {};
    for (const p of pods) byProblem[p.problem] = (byProblem[p.problem] ?? 0) + 1;
    const lines = r.stdout.split("\n");
    const analyzed = lines.findIndex((line) => /^\[\d+%\] analyze: done \(/.test(line));
    expect(analyzed, r.stdout).toBeGreaterThan(0);
    expect(lines[analyzed + 1]).toBe(
      `  problems: ${pods.length} · byKind: {"Pod":${pods.length}} · byProblem: ${JSON.stringify(byProblem)}`,
    );
    expect(lastLine(r.stdout)).toMatch(/^✔ Completed/);
  }, 90_000);

  it.each([
    ["without =", ["--param", "filter"], "'filter' is invalid. expected key=value (e.g. filter=Pod)."],
    [
      "a key that is not a name",
      ["--param", "1x=2"],
      "a key is a letter then up to 63 letters, digits or _.",
    ],
    ["a key twice", ["--param", "filter=Pod", "--param", "filter=Service"], '"filter" is given twice.'],
    [
      "a 21st parameter",
      Array.from({ length: 21 }, (_, i) => ["--param", `k${i}=${i}`]).flat(),
      "'k20=20' is invalid. at most 20 parameters.",
    ],
    [
      "a quoted value that is not a JSON string",
      ["--param", 'x="a\\q"'],
      "a quoted value must be a JSON string",
    ],
  ] as Array<[string, string[], string]>)(
    "a malformed --param (%s): exit 2 naming it, and no run starts",
    async (_, params, reason) => {
      const before = await runCount();
      const r = await cli(["ask", "--url", url(), ...params, QUESTION_K8S]).exited;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      const first = r.stderr.split("\n")[0] ?? "";
      expect(first).toMatch(/^error: option '--param <key=value>' argument '.*' is invalid\. /);
      expect(first).toContain(reason);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toMatch(/^run /m);
      expect(await runCount()).toBe(before);
    },
  );
});

describe("auth and the environment (AUTH=jwt)", () => {
  it("STAGECAST_URL and STAGECAST_TOKEN work like --url and --token", async () => {
    const token = secured.devToken ?? "";
    expect(token).not.toBe("");
    const viaEnv = await cli(["ask", "--json", QUESTION], {
      STAGECAST_URL: secured.url,
      STAGECAST_TOKEN: token,
    }).exited;
    const viaFlags = await cli(["ask", "--json", "--url", secured.url, "--token", token, QUESTION]).exited;
    for (const r of [viaEnv, viaFlags]) {
      expect(r.code, r.stderr).toBe(0);
      const events = ndjson(r.stdout);
      expect(events.at(-1)?.type).toBe("run.completed");
      const runId = events[0]?.runId ?? "";
      expect((await getRun(secured, runId, token)).status).toBe("completed");
      expect(events).toEqual(await serverLog(secured, runId, token));
    }
    const a = ndjson(viaEnv.stdout)[0]?.runId;
    const b = ndjson(viaFlags.stdout)[0]?.runId;
    expect(a).not.toBe(b);

    // watch with the environment too (it needs a stream token for the caller's run).
    const watched = await cli(["watch", "--json", a ?? ""], {
      STAGECAST_URL: secured.url,
      STAGECAST_TOKEN: token,
    }).exited;
    expect(watched.code, watched.stderr).toBe(0);
    expect(ndjson(watched.stdout)).toEqual(ndjson(viaEnv.stdout));
  });

  it("--url wins over STAGECAST_URL", async () => {
    const r = await cli(["ask", "--json", "--url", open.url, QUESTION], {
      STAGECAST_URL: "http://127.0.0.1:1",
    }).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(ndjson(r.stdout).at(-1)?.type).toBe("run.completed");
  });

  it("no token: exit 2 with one line naming the 401, no stack trace", async () => {
    const r = await cli(["ask", QUESTION], { STAGECAST_URL: secured.url }).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
    expect(r.stderr).toContain("401");
  });

  it("a bad token: exit 2 with the 401", async () => {
    const r = await cli(["ask", "--json", QUESTION], {
      STAGECAST_URL: secured.url,
      STAGECAST_TOKEN: "not-a-jwt",
    }).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
    expect(r.stderr).toContain("401");
  });
});

describe("stagecast watch", () => {
  let runId = "";
  let log: RunEvent[] = [];

  beforeAll(async () => {
    runId = (await startRun(open.url, { question: QUESTION })).runId;
    expect((await untilEnded(open, runId)).status).toBe("completed");
    log = await serverLog(open, runId);
    expect(log.length).toBeGreaterThan(6);
  });

  it("--json on a completed run prints the whole log and exits 0", async () => {
    const r = await cli(["watch", runId, "--json", "--url", open.url]).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(ndjson(r.stdout)).toEqual(log);
  });

  it("--after 5 prints only the events after seq 5", async () => {
    const r = await cli(["watch", runId, "--json", "--after", "5", "--url", open.url]).exited;
    expect(r.code, r.stderr).toBe(0);
    const events = ndjson(r.stdout);
    expect(events.map((e) => e.seq)).toEqual(log.filter((e) => e.seq > 5).map((e) => e.seq));
    expect(events).toEqual(log.slice(5));
  });

  it("the plain view of a completed run ends with ✔ Completed", async () => {
    const r = await cli(["watch", runId], { STAGECAST_URL: open.url }).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toMatch(/^✔ Completed/);
    expect(occurrences(r.stdout, (await getRun(open, runId)).answer ?? "\0")).toBe(1);
  });

  // With `--after` at the last seq of an ended run the stream answers 204 and no event comes:
  // the CLI asks the run how it ended instead of reporting it as lost.
  it("--after the last seq of a completed run reports the run as completed (exit 0), not queued", async () => {
    const r = await cli(["watch", runId, "--after", String(log.length), "--url", open.url]).exited;
    expect(r.stdout).not.toContain("queued");
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("an unknown run: exit 2 with the 404", async () => {
    const r = await cli(["watch", UNKNOWN_RUN, "--url", open.url]).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
    expect(r.stderr).toContain("404");
  });

  it("an id that is not a ULID: exit 2", async () => {
    const r = await cli(["watch", "not-a-ulid", "--url", open.url]).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
    expect(r.stderr).toContain("400");
  });

  it.each([["-1"], ["abc"], ["1.5"]])("--after %s: exit 2", async (after) => {
    const r = await cli(["watch", runId, "--after", after, "--url", open.url]).exited;
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("--after");
  });
});

describe("Ctrl-C", () => {
  it("during ask cancels the run, waits for run.cancelled and exits 130", async () => {
    await knobs("POST", { tokensPerSecond: 15 });
    const asking = cli(["ask", "--url", open.url, QUESTION]);
    await asking.waitForStdout(/^\[\d+%\] analyzing: running$/m);
    asking.child.kill("SIGINT");
    const r = await asking.exited;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(130);
    const runId = runIdFrom(r.stderr);
    expect((await getRun(open, runId)).status).toBe("cancelled");
    expect(r.stdout).toContain("Cancelling the run…");
    expect(r.stdout).toMatch(/^\[\d+%\] \w+: cancelled/m);
    expect(lastLine(r.stdout)).toBe("■ Cancelled");
    expect((await serverLog(open, runId)).at(-1)?.type).toBe("run.cancelled");
  });

  it("during ask --json: the events end with run.cancelled, exit 130", async () => {
    await knobs("POST", { tokensPerSecond: 15 });
    const asking = cli(["ask", "--json", "--url", open.url, QUESTION]);
    await asking.waitForStdout((out) =>
      out
        .split("\n")
        .slice(0, -1) // complete lines only
        .map((line) => RunEventSchema.parse(JSON.parse(line)))
        .some((e) => e.type === "stage.started" && e.stage === "analyzing"),
    );
    asking.child.kill("SIGINT");
    const r = await asking.exited;
    expect(r.code, r.stderr).toBe(130);
    const events = ndjson(r.stdout);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => isTerminalType(e.type)).map((e) => e.type)).toEqual(["run.cancelled"]);
    expect(events.at(-1)?.type).toBe("run.cancelled");
    expect((await getRun(open, events[0]?.runId ?? "")).status).toBe("cancelled");
  });

  it("during watch detaches (exit 130) without cancelling: the run completes later", async () => {
    await knobs("POST", { tokensPerSecond: 15 });
    const { runId } = await startRun(open.url, { question: QUESTION });
    const watching = cli(["watch", runId, "--url", open.url]);
    await watching.waitForStdout(/^\[\d+%\] \w+: running$/m);
    watching.child.kill("SIGINT");
    const r = await watching.exited;
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).not.toContain("Cancelling");
    expect(r.stdout).not.toContain("Cancelled");
    expect(r.stdout).not.toContain("✔ Completed");
    // Detached while the run was still going.
    expect((await getRun(open, runId)).status).toBe("running");
    await knobs("DELETE"); // full speed again for the rest of the run
    expect((await untilEnded(open, runId)).status).toBe("completed");
    const log = await serverLog(open, runId);
    expect(log.map((e) => e.type)).not.toContain("run.cancelled");
    expect(log.at(-1)?.type).toBe("run.completed");
  });
});

describe("a failed run", () => {
  it("exits 1: run.failed with model_unauthorized, last line ✖ Failed", async () => {
    await knobs("POST", { failNext: { count: 50, status: 401 } });

    const plain = await cli(["ask", "--url", open.url, QUESTION]).exited;
    expect(plain.code, plain.stderr).toBe(1);
    expect(lastLine(plain.stdout)).toMatch(/^✖ Failed/);
    expect(plain.stdout).toMatch(/^\[\d+%\] \w+: failed/m);
    const run = await getRun(open, runIdFrom(plain.stderr));
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("model_unauthorized");
    expect(lastLine(plain.stdout)).toBe(`✖ Failed: ${run.error?.message}`);

    const json = await cli(["ask", "--json", "--url", open.url, QUESTION]).exited;
    expect(json.code, json.stderr).toBe(1);
    const events = ndjson(json.stdout);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const last = events.at(-1);
    expect(last?.type).toBe("run.failed");
    if (last?.type === "run.failed") expect(last.data.error.code).toBe("model_unauthorized");
    expect(events.filter((e) => isTerminalType(e.type))).toHaveLength(1);
  });
});

describe("usage errors and an unreachable server", () => {
  it("--url pointing nowhere: exit 3, naming --url and STAGECAST_URL", async () => {
    const r = await cli(["ask", "--url", "http://127.0.0.1:1", QUESTION]).exited;
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
    expect(r.stderr).toContain("--url");
    expect(r.stderr).toContain("STAGECAST_URL");
  });

  it("STAGECAST_URL pointing nowhere: exit 3", async () => {
    const r = await cli(["ask", "--json", QUESTION], { STAGECAST_URL: "http://127.0.0.1:1" }).exited;
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expectOneLineError(r.stderr);
  });

  it.each([
    ["--url ftp://x", ["ask", "--url", "ftp://x", QUESTION], {}],
    ["STAGECAST_URL=ftp://x", ["ask", QUESTION], { STAGECAST_URL: "ftp://x" }],
    ["STAGECAST_STREAM_URL=not a url", ["ask", QUESTION], { STAGECAST_STREAM_URL: "not a url" }],
    ["no question", ["ask"], {}],
    ["watch without a run id", ["watch"], {}],
    ["an unknown command", ["bogus"], {}],
    ["an unknown option", ["ask", "--nope", QUESTION], {}],
  ] as Array<[string, string[], Record<string, string>]>)("%s: exit 2", async (_, args, env) => {
    // Any server these might reach by mistake is the open stack.
    const r = await cli(args, { STAGECAST_URL: open.url, ...env }).exited;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("the package's entry points", () => {
  it("package.json: bin stagecast → bin/stagecast.mjs (executable), scripts ask and stagecast", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ stagecast: "bin/stagecast.mjs" });
    expect(pkg.scripts.ask).toBe("tsx packages/cli/bin.ts ask");
    expect(pkg.scripts.stagecast).toBe("tsx packages/cli/bin.ts");
    const file = new URL("../../bin/stagecast.mjs", import.meta.url);
    expect((await stat(file)).mode & 0o111).not.toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it("node bin/stagecast.mjs ask --json … completes with exit 0", async () => {
    const r = await launch(process.execPath, [
      "bin/stagecast.mjs",
      "ask",
      "--json",
      "--url",
      open.url,
      QUESTION,
    ]).exited;
    expect(r.code, r.stderr).toBe(0);
    const events = ndjson(r.stdout);
    expect(events.at(-1)?.type).toBe("run.completed");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it("npm run -s ask -- --json … and npm run -s stagecast -- watch … work", async () => {
    const asked = await launch("npm", ["run", "-s", "ask", "--", "--json", QUESTION], {
      STAGECAST_URL: open.url,
    }).exited;
    expect(asked.code, asked.stderr).toBe(0); // npm may warn on stderr: not checked
    const events = ndjson(asked.stdout);
    expect(events.at(-1)?.type).toBe("run.completed");
    const runId = events[0]?.runId ?? "";

    const watched = await launch("npm", ["run", "-s", "stagecast", "--", "watch", runId, "--json"], {
      STAGECAST_URL: open.url,
    }).exited;
    expect(watched.code, watched.stderr).toBe(0);
    expect(ndjson(watched.stdout)).toEqual(events);
  });
});
