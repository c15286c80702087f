import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import {
  type Control,
  expectWholeRun,
  RECONNECTING_STACK,
  recipeFile,
  storedEvents,
} from "../support/sse-clients.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * Python clients against the local stack, in the virtual environment .venv (pinned in
 * test/clients/requirements.txt): the recipes test/clients/follow_httpx_sse.py (httpx +
 * httpx-sse) and test/clients/follow_requests.py (requests + a small line reader), run as
 * docs/client.md shows them. Every stored event once, in order, across several server-initiated
 * closes; a stop after the run's end; JSON data in every event httpx-sse yields; no read
 * timeout over a quiet stage with httpx's default 5 s timeout, thanks to the heartbeat.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = `${ROOT}.venv/bin/python`;
const SETUP = "python3 -m venv .venv && .venv/bin/pip install -r test/clients/requirements.txt";
const execFileAsync = promisify(execFile);

type Stack = Awaited<ReturnType<typeof startTestStack>>;
/** Streams end every 1.5 s: the recipes must resume several times per run. */
let reconnecting: Stack;
/** Default stream deadline (one connection per run) and heartbeat (2.5 s): the read-timeout test. */
let quiet: Stack;

/** The pinned versions of the direct dependencies, from requirements.txt. */
function pinned(): Record<string, string> {
  const text = recipeFile("test/clients/requirements.txt");
  return Object.fromEntries([...text.matchAll(/^([A-Za-z0-9_.-]+)==(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

beforeAll(async () => {
  // Missing .venv or packages fail the suite (never skip it), saying how to make them.
  if (!existsSync(PYTHON)) throw new Error(`no Python virtual environment at .venv: run\n  ${SETUP}`);
  const want = pinned();
  const probe = `import json, importlib.metadata as m, httpx, httpx_sse, requests
print(json.dumps({n: m.version(n) for n in ${JSON.stringify(Object.keys(want))}}))`;
  let have: Record<string, string>;
  try {
    have = JSON.parse((await execFileAsync(PYTHON, ["-c", probe], { timeout: 20_000 })).stdout);
  } catch (err) {
    throw new Error(`the .venv lacks the recipes' packages (${String(err).split("\n")[0]}): run\n  ${SETUP}`);
  }
  for (const [name, version] of Object.entries(want)) {
    if (have[name] !== version)
      throw new Error(`.venv has ${name} ${have[name]}, requirements.txt pins ${version}: run\n  ${SETUP}`);
  }
  const started = await Promise.allSettled([startTestStack(RECONNECTING_STACK), startTestStack()]);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  [reconnecting, quiet] = started.map((s) => (s as PromiseFulfilledResult<Stack>).value) as [Stack, Stack];
}, 60_000);
afterAll(async () => {
  await Promise.all([reconnecting?.stop(), quiet?.stop()]);
});

/** One line a recipe printed: stdout = a stored event, stderr = a control ({"control": kind, …}). */
interface Line {
  at: number;
  stream: "stdout" | "stderr";
  json: Record<string, unknown>;
}

/** What one run of a recipe script printed, parsed. */
interface Followed {
  code: number | null;
  events: RunEvent[];
  controls: Control[];
  lines: Line[];
  stderr: string;
}

/**
 * Run a recipe script (`python <script> <url> [after]`) and collect its JSON lines with the time
 * each arrived. Non-JSON stderr (a traceback) is kept in `stderr`.
 */
function runRecipe(script: string, args: string[], timeoutMs = 60_000): Promise<Followed> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-u", `${ROOT}test/clients/${script}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Line[] = [];
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${script} ${args.join(" ")} did not end in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    for (const stream of ["stdout", "stderr"] as const) {
      let pending = "";
      child[stream].setEncoding("utf8");
      child[stream].on("data", (chunk: string) => {
        pending += chunk;
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const text = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          nl = pending.indexOf("\n");
          if (stream === "stderr" && !text.startsWith("{")) {
            stderr += `${text}\n`;
            continue;
          }
          lines.push({ at: Date.now(), stream, json: JSON.parse(text) });
        }
      });
    }
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const events = lines.filter((l) => l.stream === "stdout").map((l) => l.json as unknown as RunEvent);
      const controls = lines
        .filter((l) => l.stream === "stderr")
        .map(({ json: { control, ...data } }) => ({ type: String(control), data }));
      resolve({ code, events, controls, lines, stderr });
    });
  });
}

const RECIPE_SCRIPTS = ["follow_httpx_sse.py", "follow_requests.py"];

describe.concurrent("Python recipes follow a run to its end", () => {
  it.for(RECIPE_SCRIPTS)(
    "%s: every stored event once, in seq order, across several server-initiated closes",
    { timeout: 60_000 },
    async (script, { expect }) => {
      const { runId, links } = await startRun(reconnecting.url, { question: `Can ${script} follow a run?` });
      const got = await runRecipe(script, [links.stream]);
      expect(got.stderr).toBe("");
      expect(got.code).toBe(0);
      const stored = await storedEvents(reconnecting.store, runId);
      expectWholeRun(expect, script, got.events, stored, got.controls);
      // One connection per reconnect frame plus the first, each resuming after the seq the
      // frame named; none after the terminal event; no transport error.
      const opens = got.controls.filter((c) => c.type === "open");
      const closes = got.controls.filter((c) => c.type === "reconnect");
      expect(opens.map((o) => o.data)).toEqual([
        { status: 200, after: 0 },
        ...closes.map((c) => ({ status: 200, after: c.data.lastSeq })),
      ]);
      expect(got.controls.filter((c) => c.type === "error")).toEqual([]);
    },
  );

  it.for(RECIPE_SCRIPTS)(
    "%s: resuming at the terminal event gets 204 and stops at once",
    { timeout: 60_000 },
    async (script, { expect }) => {
      const { runId, links } = await startRun(reconnecting.url, { question: `Does ${script} stop on 204?` });
      await runRecipe(script, [links.stream]);
      const last = (await storedEvents(reconnecting.store, runId)).length;
      const got = await runRecipe(script, [links.stream, String(last)]);
      expect(got.code).toBe(0);
      expect(got.events).toEqual([]);
      expect(got.controls).toEqual([{ type: "open", data: { status: 204, after: last } }]);
    },
  );
});

/**
 * Read one connection of a finished run's stream with httpx-sse alone (no recipe) and print
 * each ServerSentEvent it yields: event, id, retry, and whether its data is JSON.
 */
const RAW_HTTPX_SSE = `
import json, sys, httpx
from httpx_sse import connect_sse
with httpx.Client() as client, connect_sse(client, "GET", sys.argv[1]) as source:
    for sse in source.iter_sse():
        try:
            json.loads(sse.data)
            ok = True
        except ValueError:
            ok = False
        print(json.dumps({"event": sse.event, "id": sse.id, "retry": sse.retry, "json": ok, "data": sse.data[:80]}))
`;

describe("what httpx-sse yields", () => {
  let finished: Promise<{ runId: string; url: string; count: number }> | undefined;
  /** A run read to its end once (on first use). */
  const finishedRun = () => {
    finished ??= (async () => {
      const { runId, links } = await startRun(quiet.url, { question: "Is every httpx-sse event JSON?" });
      await runRecipe("follow_httpx_sse.py", [links.stream]);
      return { runId, url: links.stream, count: (await storedEvents(quiet.store, runId)).length };
    })();
    return finished;
  };
  const rawEvents = async (url: string) => {
    const { stdout } = await execFileAsync(PYTHON, ["-c", RAW_HTTPX_SSE, url], { timeout: 30_000 });
    return stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; id: string; retry: number | null; json: boolean });
  };

  it("default framing: only events with JSON data; the opening heartbeat carries retry", async () => {
    const { url, count } = await finishedRun();
    const got = await rawEvents(url);
    expect(got.filter((e) => !e.json)).toEqual([]);
    expect(got[0]).toMatchObject({ event: "heartbeat", retry: 1000, json: true });
    expect(got.slice(1).map((e) => e.id)).toEqual(Array.from({ length: count }, (_, i) => String(i + 1)));
  });

  // With flush=pad (the default on Lambda) or flush=trailer, each batch is followed by padding.
  // httpx-sse 0.4.3 dispatches any block once an id was seen (its decoder keeps the last id and
  // does not require data), so padding written as a block of its own (`: …\n\n`) came out as
  // ServerSentEvent(data="") after every batch; it is now a comment line joining the next block.
  it.each(["pad", "trailer"])("flush=%s: only events with JSON data", async (flush) => {
    const { url } = await finishedRun();
    const got = await rawEvents(`${url}?flush=${flush}`);
    expect(got.filter((e) => !e.json)).toEqual([]);
  });

  it.each(["off", "pad"])(
    "the AutoGen format (GET /test-stream, flush=%s): only events with JSON data, the first carrying retry:",
    async (flush) => {
      const got = await rawEvents(`${quiet.url}/test-stream?flush=${flush}`);
      expect(got.length).toBeGreaterThan(3);
      expect(got.filter((e) => !e.json)).toEqual([]);
      expect(got[0]?.retry).toEqual(expect.any(Number));
    },
  );

  it.each(["pad", "trailer"])("flush=%s: the recipes still deliver every event once", async (flush) => {
    const { runId, url } = await finishedRun();
    const stored = await storedEvents(quiet.store, runId);
    for (const script of RECIPE_SCRIPTS) {
      const got = await runRecipe(script, [`${url}?flush=${flush}`]);
      expect(got.stderr, script).toBe("");
      expect(got.events, script).toEqual(stored);
    }
  });
});

describe("a quiet stage longer than httpx's 5 s read timeout", () => {
  it("both recipes keep one connection open through it: heartbeats every 2.5 s, no timeout", async () => {
    expect(quiet.config.STREAM_HEARTBEAT_MS).toBe(2500);
    // The next model call (the analyzing stage's) answers nothing for 7 s.
    const knobs = await fetch(`${quiet.offlineModelUrl}/_offline/knobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stallNext: { count: 1, ms: 7000 } }),
    });
    expect(knobs.status).toBe(200);
    const { runId, links } = await startRun(quiet.url, {
      question: "Will a quiet stage time my client out?",
    });
    const results = await Promise.all(RECIPE_SCRIPTS.map((s) => runRecipe(s, [links.stream])));
    const stored = await storedEvents(quiet.store, runId);
    // The log really was quiet for more than 5 s.
    const gaps = stored.slice(1).map((e, i) => Date.parse(e.ts) - Date.parse(stored[i]?.ts ?? e.ts));
    expect(Math.max(...gaps)).toBeGreaterThan(5000);
    for (const [i, got] of results.entries()) {
      const script = RECIPE_SCRIPTS[i];
      expect(got.stderr, script).toBe("");
      expect(got.events, script).toEqual(stored);
      expect(
        got.controls.filter((c) => c.type === "open"),
        script,
      ).toHaveLength(1);
      expect(
        got.controls.filter((c) => c.type === "error"),
        script,
      ).toEqual([]);
      expect(got.controls.filter((c) => c.type === "heartbeat").length, script).toBeGreaterThanOrEqual(3);
      // Nothing arrived more than ~2.5 s apart (a heartbeat or an event), well under 5 s.
      const arrivals = got.lines.map((l) => l.at);
      const silent = Math.max(...arrivals.slice(1).map((t, j) => t - (arrivals[j] ?? t)));
      expect(silent, script).toBeLessThan(4000);
    }
  }, 60_000);
});
