import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SOLUTION_QUESTION } from "../../packages/stream/solution-stream-route.ts";
import { answer, expectCleanError } from "../support/hostile.ts";
import { readSse } from "../support/sse.ts";
import { RECONNECTING_STACK } from "../support/sse-clients.ts";
import { startRun, startTestStack } from "../support/stack.ts";
import { startWithAgent } from "../support/start-line.ts";
import {
  type ChatRequest,
  type ChatStreamFrame,
  openChatEventSource,
  type ProgressUpdate,
  sendMessageStream,
} from "./seed-clients/project-chat-api.ts";

/**
 * The clients of two origin documents (docs/origins.md) against the local stack, each doing
 * what that document's client did, adapted only in host, port, auth and skipping lines that
 * are not `data:` lines (docs/api.md §11 and §12):
 * - seed 000, the Kubernetes agent's Python client (requests): POST /get_solution_stream with
 *   `{"filter": "Pod"}`, `analyzing` ticks with a growing elapsed time, then the solution, on
 *   examples/k8s-diagnosis run with STAGECAST_AGENT;
 * - seed 003, the project chat's frontend (fetch POST and EventSource GET of
 *   /projects/{projectId}/chat-stream) on the built-in agent: a progress step per stage,
 *   heartbeats, the final answer, project memory; resume across server closes without a
 *   second run.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = `${ROOT}.venv/bin/python`;
const SETUP = "python3 -m venv .venv && .venv/bin/pip install -r test/clients/requirements.txt";

/** Two of the snapshot's pods in trouble (examples/k8s-diagnosis/cluster.json). */
const CRASHING = "checkout-api-7c9d8f6b5-x2k4q";
const NO_IMAGE = "report-worker-5d8f9c7b6-h6j2r";

/** The built-in agent's stages as the project chat's steps, between `start` and `completion`. */
const CHAT_STEPS = [
  "start",
  "context",
  "analyzing",
  "planning",
  "validation",
  "execution",
  "memory",
  "completion",
];

type Stack = Awaited<ReturnType<typeof startTestStack>>;

/** Run the seed's Python client against `url`; resolves with its exit code and output. */
function runPythonClient(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-u", `${ROOT}test/e2e/seed-clients/k8s_solution_client.py`, url], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PYTHONIOENCODING: "utf-8" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `data:` lines of an SSE body, parsed (what every client of these APIs reads). */
function dataFrames(body: string): Array<Record<string, unknown>> {
  return body
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

/** The frames of an SSE body with the `id:` each carried (undefined when none). */
function framesWithIds(body: string): Array<{ id?: string; data: Record<string, unknown> }> {
  return body
    .split("\n\n")
    .map((block) => {
      const lines = block.split("\n");
      const data = lines.find((l) => l.startsWith("data: "));
      const id = lines.find((l) => l.startsWith("id: "))?.slice(4);
      return data ? { ...(id === undefined ? {} : { id }), data: JSON.parse(data.slice(6)) } : undefined;
    })
    .filter((f) => f !== undefined);
}

/** The ids of the caller's runs, newest first (AUTH=off: everyone's). */
async function runIds(url: string): Promise<string[]> {
  const res = await fetch(`${url}/runs?limit=50`);
  return ((await res.json()) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId);
}

/** GET /runs/{runId}. */
async function getRun(url: string, runId: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/runs/${runId}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** POST JSON to `path`. */
const postJson = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

describe("seed 000: the Kubernetes agent's client (Python, requests) on examples/k8s-diagnosis", () => {
  let stack: { url: string; child: ChildProcess };

  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`no Python virtual environment at .venv: run\n  ${SETUP}`);
    // The client needs requests, pinned with the other Python recipes' packages.
    await promisify(execFile)(PYTHON, ["-c", "import requests"], { timeout: 20_000 }).catch(
      (err: unknown) => {
        throw new Error(`the .venv lacks requests (${String(err).split("\n")[0]}): run\n  ${SETUP}`);
      },
    );
    // 15 tokens/s: a run of about 6 s, so the client shows several 2-s ticks.
    const env: NodeJS.ProcessEnv = { ...process.env, OFFLINE_MODEL_TOKENS_PER_SECOND: "15" };
    delete env.STAGECAST_URL;
    stack = await startWithAgent(ROOT, "examples/k8s-diagnosis/agent.ts", env);
  }, 60_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
  });

  it("prints the elapsed time growing every 2 s, then Complete! and a solution naming the Pod problems only", async () => {
    const before = await runIds(stack.url);
    const { code, stdout, stderr } = await runPythonClient(stack.url);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // The client rewrites one terminal line with \r: split on both line ends.
    const shown = stdout.split(/[\r\n]/).filter((l) => l !== "");
    const elapsed = shown.flatMap((l) => {
      const m = /^⏱️ Elapsed: (\d+)s$/.exec(l);
      return m ? [Number(m[1])] : [];
    });
    expect(elapsed.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < elapsed.length; i++) expect(elapsed[i]).toBeGreaterThan(elapsed[i - 1] ?? 0);
    const done = shown.indexOf("✅ Complete!");
    expect(done).toBe(elapsed.length);
    const solution = stdout.slice(stdout.indexOf("✅ Complete!\n") + "✅ Complete!\n".length);
    expect(solution).toContain(`Pod shop/${CRASHING}: CrashLoopBackOff`);
    expect(solution).toContain(`Pod shop/${NO_IMAGE}: ImagePullBackOff`);
    expect(solution).toContain('Problems found (Pod, filter "Pod")');
    expect(solution).not.toContain("Deployment shop/");

    // One run was started, with the fixed question and params.filter from the body.
    const after = await runIds(stack.url);
    expect(after.length).toBe(before.length + 1);
    const run = await getRun(stack.url, after[0] ?? "");
    expect(run).toMatchObject({
      status: "completed",
      question: SOLUTION_QUESTION,
      params: { filter: "Pod" },
    });
  }, 60_000);

  it("on the wire: data lines of JSON with a status, ticks whose id is the last seq read, the end with id = its seq", async () => {
    const res = await postJson(stack.url, "/get_solution_stream", { filter: "Pod" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const runId = res.headers.get("x-run-id") ?? "";
    const frames = framesWithIds(await res.text());
    const ticks = frames.slice(0, -1);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const t of ticks) expect(t.data).toMatchObject({ status: "analyzing", run_id: runId });
    const seqs = ticks.map((t) => Number(t.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const last = frames.at(-1);
    const run = await getRun(stack.url, runId);
    expect(last).toEqual({
      id: String(run.lastSeq),
      data: { status: "complete", solution: run.answer, run_id: runId },
    });
    expect(seqs.every((s) => s < Number(run.lastSeq))).toBe(true);
  }, 60_000);

  it("resumes: GET /runs/{id}/stream?format=k8s-solution after a tick's id sends the rest once; at the end, 204", async () => {
    const res = await postJson(stack.url, "/get_solution_stream", { filter: "Pod" });
    const runId = res.headers.get("x-run-id") ?? "";
    // Drop the connection after the second tick, keeping its id.
    const cut = await readSse(`${stack.url}/runs/${runId}/stream?format=k8s-solution`, {
      stopAfter: (frames) => frames.length >= 2,
    });
    await res.body?.cancel();
    const lastId = cut.frames.at(-1)?.id ?? "0";
    const rest = await readSse(`${stack.url}/runs/${runId}/stream?format=k8s-solution`, {
      headers: { "last-event-id": lastId },
      timeoutMs: 45_000,
    });
    expect(rest.status).toBe(200);
    const parsed = rest.frames.map((f) => JSON.parse(f.data) as Record<string, unknown>);
    expect(parsed.filter((f) => f.status === "complete")).toHaveLength(1);
    expect(parsed.at(-1)?.status).toBe("complete");
    // The elapsed time goes on from where the cut stream was: it counts from the run's creation.
    const before = cut.frames.map((f) => Number(JSON.parse(f.data).elapsed));
    const later = parsed.filter((f) => f.status === "analyzing").map((f) => Number(f.elapsed));
    expect(Math.min(...later, Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(Math.max(...before));
    const end = rest.frames.at(-1)?.id ?? "";
    const again = await fetch(`${stack.url}/runs/${runId}/stream?format=k8s-solution`, {
      headers: { "last-event-id": end },
    });
    expect(again.status).toBe(204);
    // The POST itself, sent again with Last-Event-ID (a fetch-based SSE client's reconnect),
    // resumes the newest run it started rather than starting another.
    const count = (await runIds(stack.url)).length;
    const repost = await postJson(
      stack.url,
      "/get_solution_stream",
      { filter: "Pod" },
      { "last-event-id": end },
    );
    expect(repost.status).toBe(204);
    const mid = await postJson(
      stack.url,
      "/get_solution_stream",
      { filter: "Pod" },
      { "last-event-id": lastId },
    );
    expect(mid.status).toBe(200);
    expect(mid.headers.get("x-run-id")).toBe(runId);
    expect(dataFrames(await mid.text()).at(-1)).toMatchObject({ status: "complete", run_id: runId });
    expect((await runIds(stack.url)).length).toBe(count);
  }, 60_000);

  it("ends a cancelled run with the documented error frame, which the client's status switch skips", async () => {
    const started = await startRun(stack.url, { question: SOLUTION_QUESTION, params: { filter: "Pod" } });
    const cancel = await fetch(`${stack.url}/runs/${started.runId}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(202);
    const { frames } = await readSse(`${stack.url}/runs/${started.runId}/stream?format=k8s-solution`);
    const last = JSON.parse(frames.at(-1)?.data ?? "{}") as Record<string, unknown>;
    expect(last).toMatchObject({ status: "error", code: "cancelled", run_id: started.runId });
    expect(typeof last.error).toBe("string");
    expect(frames.every((f) => typeof JSON.parse(f.data).status === "string")).toBe(true);
  });

  it("refuses bad input with a clear 4xx before starting anything", async () => {
    const before = (await runIds(stack.url)).length;
    const post = (body: string, headers: Record<string, string> = {}, query = "") =>
      answer(postJson(stack.url, `/get_solution_stream${query}`, body, headers));
    expectCleanError(await post('{"filter": 5}'), 400, "invalid_request");
    const typo = await post('{"filtr": "Pod"}');
    expectCleanError(typo, 400, "invalid_request");
    expect(typo.body).toContain("filtr");
    expectCleanError(await post('{"filter": ""}'), 400, "invalid_request");
    expectCleanError(await post(JSON.stringify({ filter: "x".repeat(1001) })), 400, "invalid_request");
    expectCleanError(await post("[1]"), 400, "invalid_request");
    expectCleanError(await post('{"filter": '), 400, "invalid_json");
    expectCleanError(
      await post('{"filter": "Pod"}', { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    expectCleanError(await post('{"filter": "Pod"}', {}, "?format=bogus"), 400, "invalid_format");
    expectCleanError(await post('{"filter": "Pod"}', { "last-event-id": "x" }), 400, "invalid_cursor");
    expect((await runIds(stack.url)).length).toBe(before);
  });
});

/** What the chat page showed for one message: the callbacks' calls, in order. */
interface Shown {
  progress: ProgressUpdate[];
  heartbeats: number;
  complete?: { response: string; frame: ChatStreamFrame };
  errors: string[];
  parseErrors: string[];
}

/** Handlers that record what the chat page would show. */
function recorder(): { shown: Shown; handlers: Parameters<typeof sendMessageStream>[1] } {
  const shown: Shown = { progress: [], heartbeats: 0, errors: [], parseErrors: [] };
  return {
    shown,
    handlers: {
      onProgress: (p) => shown.progress.push(p),
      onHeartbeat: () => {
        shown.heartbeats++;
      },
      onComplete: (response, frame) => {
        shown.complete = { response, frame };
      },
      onError: (error) => shown.errors.push(error),
      onParseError: (line) => shown.parseErrors.push(line),
    },
  };
}

/** Follow one message with the page's EventSource variant until it closes the source. */
function followWithEventSource(url: string, request: ChatRequest, ES: typeof EventSource = EventSource) {
  const { shown, handlers } = recorder();
  return new Promise<Shown>((resolve) => {
    const done = { ...handlers };
    done.onComplete = (response, frame) => {
      handlers.onComplete(response, frame);
      resolve(shown);
    };
    done.onError = (error) => {
      handlers.onError(error);
      resolve(shown);
    };
    openChatEventSource(request, done, { baseUrl: url, EventSource: ES });
  });
}

/** The distinct steps in the order they first appeared. */
const stepsOf = (shown: Shown) => [...new Set(shown.progress.map((p) => p.step))];

/** Stall the offline model's next call for `ms`, so a stage is quiet long enough for heartbeats. */
async function stallNext(stack: Stack, ms: number) {
  const res = await postJson(stack.offlineModelUrl ?? "", "/_offline/knobs", { stallNext: { count: 1, ms } });
  expect(res.status).toBe(200);
}

describe("seed 003: the project chat's frontend (fetch POST and EventSource GET) on the built-in agent", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("fetch POST: a progress step per stage in order, heartbeats while quiet, then the final answer", async () => {
    await stallNext(stack, 3500);
    const { shown, handlers } = recorder();
    const request = { project_id: "shop-assistant", message: "How do I stream progress to a browser?" };
    await sendMessageStream(request, handlers, { baseUrl: stack.url, timeoutMs: 10_000 });
    expect(shown.errors).toEqual([]);
    expect(shown.parseErrors).toEqual([]);
    expect(stepsOf(shown)).toEqual(CHAT_STEPS);
    expect(shown.heartbeats).toBeGreaterThanOrEqual(1);
    for (const p of shown.progress) {
      expect(Object.keys(p)).toEqual(["step", "message", "details", "timestamp", "metadata"]);
      expect(p.message.length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(p.timestamp))).toBe(false);
    }
    const seqs = shown.progress.map((p) => Number(p.metadata.seq));
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    const runId = String(shown.complete?.frame.run_id);
    const run = await getRun(stack.url, runId);
    expect(shown.complete?.response).toBe(run.answer);
    expect(run).toMatchObject({
      status: "completed",
      projectId: "shop-assistant",
      question: request.message,
    });
  });

  it("memory per project: the next message in the project loads what the first one saved; another project none", async () => {
    const first = recorder();
    await sendMessageStream(
      { project_id: "memory-project", message: "Remember: we deploy on Fridays." },
      first.handlers,
      {
        baseUrl: stack.url,
      },
    );
    expect(
      first.shown.progress.find((p) => p.step === "memory" && p.metadata.event_type === "stage.progress")
        ?.message,
    ).toBe("Saved a memory for project memory-project.");
    const same = recorder();
    await sendMessageStream(
      { project_id: "memory-project", message: "And what about reconnecting?" },
      same.handlers,
      { baseUrl: stack.url },
    );
    const other = recorder();
    await sendMessageStream(
      { project_id: "other-project", message: "And what about reconnecting?" },
      other.handlers,
      {
        baseUrl: stack.url,
      },
    );
    const loaded = (shown: Shown) =>
      shown.progress.find((p) => p.step === "context" && p.metadata.event_type === "stage.progress");
    expect(loaded(same.shown)?.message).toMatch(/^Loaded [1-9]\d* memor(y|ies)/);
    expect(
      (loaded(same.shown)?.metadata.data as { memories?: string[] } | undefined)?.memories?.length,
    ).toBeGreaterThan(0);
    expect(loaded(other.shown)?.message).toMatch(/^Loaded 0 memories/);
    expect(same.shown.complete?.response.length).toBeGreaterThan(0);
  });

  it("EventSource GET: the same steps and answer; it closes the source, and one run was started", async () => {
    const before = (await runIds(stack.url)).length;
    const shown = await followWithEventSource(stack.url, {
      project_id: "shop-assistant",
      message: "Can a page follow this with EventSource?",
    });
    expect(shown.errors).toEqual([]);
    expect(stepsOf(shown)).toEqual(CHAT_STEPS);
    const run = await getRun(stack.url, String(shown.complete?.frame.run_id));
    expect(shown.complete?.response).toBe(run.answer);
    expect((await runIds(stack.url)).length).toBe(before + 1);
  });

  it("an EventSource left open after the answer reconnects once, gets 204 and stops: no second run", async () => {
    const before = (await runIds(stack.url)).length;
    const url = `${stack.url}/projects/shop-assistant/chat-stream?message=${encodeURIComponent("Is one run enough?")}`;
    const source = new EventSource(url);
    const types: string[] = [];
    let completeAt = -1;
    const closed = new Promise<number | undefined>((resolve) => {
      source.onmessage = (e) => {
        const type = String(JSON.parse(e.data).type);
        types.push(type);
        if (type === "complete") completeAt = types.length;
      };
      source.onerror = (err) => {
        if (source.readyState === EventSource.CLOSED) resolve(err.code);
      };
    });
    expect(await closed).toBe(204);
    expect(completeAt).toBe(types.length);
    expect(types.filter((t) => t === "complete")).toHaveLength(1);
    expect((await runIds(stack.url)).length).toBe(before + 1);
  });

  it("?format=project-chat on GET /runs/{id}/stream replays the frames the chat stream sent", async () => {
    const res = await postJson(stack.url, "/projects/shop-assistant/chat-stream", { message: "Replay me." });
    const live = dataFrames(await res.text()).filter((f) => f.type !== "heartbeat");
    const runId = res.headers.get("x-run-id") ?? "";
    const replay = await readSse(`${stack.url}/runs/${runId}/stream?format=project-chat`);
    const replayed = replay.frames.map((f) => JSON.parse(f.data)).filter((f) => f.type !== "heartbeat");
    expect(replayed).toEqual(live);
    expect(replay.opening).toBeUndefined();
  });

  it("ends a cancelled run with an error frame (code cancelled)", async () => {
    const started = await startRun(stack.url, { question: "Cancel me.", projectId: "shop-assistant" });
    expect((await fetch(`${stack.url}/runs/${started.runId}/cancel`, { method: "POST" })).status).toBe(202);
    const { frames } = await readSse(`${stack.url}/runs/${started.runId}/stream?format=project-chat`);
    expect(JSON.parse(frames.at(-1)?.data ?? "{}")).toMatchObject({
      type: "error",
      code: "cancelled",
      run_id: started.runId,
    });
  });

  it("refuses bad input with a clear 4xx before starting anything", async () => {
    const before = (await runIds(stack.url)).length;
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      answer(postJson(stack.url, path, body, headers));
    const get = (path: string) => answer(fetch(`${stack.url}${path}`));
    const missing = await get("/projects/p1/chat-stream");
    expectCleanError(missing, 400, "invalid_request");
    expect(missing.body).toContain("message is required");
    expectCleanError(await get("/projects/p1/chat-stream?message=%20%20"), 400, "invalid_request");
    expectCleanError(await get("/projects/bad%20id/chat-stream?message=hi"), 400, "invalid_request");
    expectCleanError(await get(`/projects/${"p".repeat(65)}/chat-stream?message=hi`), 400, "invalid_request");
    expectCleanError(
      await get("/projects/p1/chat-stream?message=hi&conversation_id=a%20b"),
      400,
      "invalid_request",
    );
    expectCleanError(await get("/projects/p1/chat-stream?message=hi&types=bogus"), 400, "invalid_types");
    const other = await post("/projects/p1/chat-stream", '{"message": "hi", "project_id": "p2"}');
    expectCleanError(other, 400, "invalid_request");
    expect(other.body).toContain("project_id");
    expectCleanError(await post("/projects/p1/chat-stream", '{"mesage": "hi"}'), 400, "invalid_request");
    expectCleanError(await post("/projects/p1/chat-stream", '{"message": 3}'), 400, "invalid_request");
    expectCleanError(await post("/projects/p1/chat-stream", "{"), 400, "invalid_json");
    expectCleanError(
      await post("/projects/p1/chat-stream", '{"message": "hi"}', { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    expectCleanError(
      await post("/projects/p1/chat-stream", '{"message": "hi"}', { "last-event-id": "-1" }),
      400,
      "invalid_cursor",
    );
    // A reconnect for a message this caller never sent starts nothing and says so with 204.
    const stray = await fetch(`${stack.url}/projects/p1/chat-stream?message=never-sent`, {
      headers: { "last-event-id": "3" },
    });
    expect(stray.status).toBe(204);
    expect((await runIds(stack.url)).length).toBe(before);
  });
});

describe("seed 003 across server-initiated closes (streams end every 1.5 s)", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack(RECONNECTING_STACK);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("the EventSource client reconnects to the same URL and gets every step once from the one run it started", async () => {
    let opens = 0;
    /** The `eventsource` package's EventSource, counting its connections. */
    class CountingEventSource extends EventSource {
      constructor(url: string) {
        super(url);
        this.addEventListener("open", () => {
          opens++;
        });
      }
    }
    const before = (await runIds(stack.url)).length;
    const shown = await followWithEventSource(
      stack.url,
      { project_id: "resume-project", message: "Will a slow answer survive reconnects?" },
      CountingEventSource,
    );
    expect(shown.errors).toEqual([]);
    expect(opens).toBeGreaterThanOrEqual(3);
    expect(stepsOf(shown)).toEqual(CHAT_STEPS);
    // Every stored event's progress frame once, in order; the answer once.
    const seqs = shown.progress.map((p) => Number(p.metadata.seq));
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    const runId = String(shown.complete?.frame.run_id);
    const stored = (await stack.store.events.read(runId, 0, 1000)).events;
    expect(seqs).toEqual(stored.filter((e) => e.type !== "llm.delta").map((e) => e.seq));
    expect(shown.complete?.response).toBe((await getRun(stack.url, runId)).answer);
    expect((await runIds(stack.url)).length).toBe(before + 1);
  }, 60_000);
});

describe("both APIs with AUTH=jwt", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ AUTH: "jwt" });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("need the caller's token, and start the run as its principal", async () => {
    for (const [path, body] of [
      ["/get_solution_stream", { filter: "Pod" }],
      ["/projects/p1/chat-stream", { message: "Who am I?" }],
    ] as const) {
      expectCleanError(await answer(postJson(stack.url, path, body)), 401, "missing_token");
      const res = await postJson(stack.url, path, body, { authorization: `Bearer ${stack.devToken}` });
      expect(res.status).toBe(200);
      const frames = dataFrames(await res.text());
      expect(frames.at(-1)?.status ?? frames.at(-1)?.type).toBe("complete");
      const runId = res.headers.get("x-run-id") ?? "";
      expect((await stack.store.runs.get(runId))?.owner).toBe("developer");
    }
    expectCleanError(
      await answer(fetch(`${stack.url}/projects/p1/chat-stream?message=hi`)),
      401,
      "missing_token",
    );
  });
});
