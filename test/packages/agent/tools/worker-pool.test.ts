import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AGENT_TOOL_BODY, type AgentToolBody } from "../../../../packages/agent/tools/agent-tool.ts";
import {
  type AgentToolEntry,
  createDefaultTools,
  DEFAULT_WORKER_LIMITS,
  defineTool,
  runTool,
  setAgentModule,
  TOOL_RESULT_MAX_CHARS,
  type Tool,
  type ToolContext,
  ToolError,
  ToolModuleError,
  type ToolOutcome,
  ToolResourceLimitError,
  ToolWorkerError,
  ToolWorkerPool,
  type WorkerEntry,
} from "../../../../packages/agent/tools/index.ts";
import { bundledWorkerName, WORKER_SOURCES } from "../../../../packages/agent/tools/worker-sources.ts";
import fixtureAgent from "./fixtures/worker-agent.ts";

/** The misbehaving tool implementations (worker-pool-fixtures.ts, beside this file). */
const FIXTURES = new URL("./worker-pool-fixtures.ts", import.meta.url);
const entry = (name: string): WorkerEntry => ({ module: FIXTURES, export: name });

/** An agent module whose default export lists worker tools (fixtures/worker-agent.ts). */
const AGENT_MODULE = new URL("./fixtures/worker-agent.ts", import.meta.url);

/** A call of `tool` (by default the fixture agent's tool of that name) as the main thread makes it. */
function agentEntry(name: string, tool?: Tool): AgentToolEntry {
  const registered = tool ?? fixtureAgent.tools?.find((t) => t.name === name);
  const body = (registered as (Tool & { [AGENT_TOOL_BODY]?: AgentToolBody }) | undefined)?.[AGENT_TOOL_BODY];
  if (!body) throw new Error(`no agent worker tool ${name}`);
  return { module: AGENT_MODULE, tool: name, fingerprint: body.fingerprint };
}

const pools: ToolWorkerPool[] = [];
/** A pool closed after the file's tests. */
function pool(options: ConstructorParameters<typeof ToolWorkerPool>[0] = {}): ToolWorkerPool {
  const p = new ToolWorkerPool(options);
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const never = () => new AbortController().signal;

/** A tool context without a store (worker tools do not get one). */
function ctx(signal: AbortSignal = never()): ToolContext {
  return { runId: "run-pool", store: {} as never, signal, now: () => Date.now() };
}

/** A worker tool running fixture `name` in `p`. */
function fixtureTool(name: string, p: ToolWorkerPool, timeoutMs = 1000) {
  return defineTool({
    name: `fixture_${name.toLowerCase()}`,
    description: `Runs the ${name} fixture.`,
    input: z.object({ ms: z.number().nullable().default(null) }),
    timeoutMs,
    isolation: "worker",
    worker: entry(name),
    pool: p,
  });
}

/** Narrow an outcome to a failure and return its error. */
function errorOf(outcome: ToolOutcome): { code: string; message: string } {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.error;
}

/**
 * Run `work` while a 5-ms interval measures the event loop: the longest gap between two ticks
 * (ms). A loop blocked by synchronous work shows it as one long gap.
 */
async function longestGap<T>(work: () => Promise<T>): Promise<{ value: T; gapMs: number }> {
  let last = performance.now();
  let gapMs = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    gapMs = Math.max(gapMs, now - last);
    last = now;
  }, 5);
  try {
    const value = await work();
    return { value, gapMs };
  } finally {
    clearInterval(tick);
  }
}

describe("ToolWorkerPool", () => {
  it("runs a module's export in a worker and returns its JSON result", async () => {
    const p = pool();
    expect(await p.run(entry("echo"), { a: [1, 2] }, never())).toEqual({ echoed: { a: [1, 2] } });
  });

  it("keeps its workers warm: repeated calls start no new worker and cost little (per-call overhead)", async () => {
    const p = pool({ size: 1 });
    await p.run(entry("echo"), 0, never()); // cold: start the worker, import the module
    const calls = 200;
    const started = performance.now();
    for (let i = 0; i < calls; i++) await p.run(entry("echo"), i, never());
    const perCallMs = (performance.now() - started) / calls;
    expect(p.started).toBe(1);
    // Measured about 0.1-0.3 ms per round trip (postMessage + JSON); the bound leaves room for a loaded machine.
    expect(perCallMs).toBeLessThan(10);
  });

  it("terminates a call that never yields at its deadline, without blocking the event loop, and replaces the worker", async () => {
    const p = pool({ size: 1 });
    await p.run(entry("echo"), 0, never());
    const { value: error, gapMs } = await longestGap(() =>
      p.run(entry("spin"), null, AbortSignal.timeout(300)).catch((err: unknown) => err),
    );
    expect((error as Error).name).toBe("TimeoutError");
    expect(gapMs).toBeLessThan(100);
    expect(p.started).toBe(2); // the spinning worker was terminated, a replacement started at once
    expect(await p.run(entry("echo"), "after", never())).toEqual({ echoed: "after" });
  });

  it("ends a heap blow-up as ToolResourceLimitError (memory); the process survives and the pool recovers", async () => {
    const p = pool({ size: 1 });
    const error = await p.run(entry("hog"), null, AbortSignal.timeout(20_000)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ToolResourceLimitError);
    expect((error as ToolResourceLimitError).limit).toBe("memory");
    expect((error as Error).message).toContain(`${DEFAULT_WORKER_LIMITS.maxOldGenerationSizeMb} MB`);
    expect(await p.run(entry("echo"), "alive", never())).toEqual({ echoed: "alive" });
  });

  it("ends a runaway recursion as ToolResourceLimitError (stack)", async () => {
    const p = pool({ size: 1 });
    const error = await p.run(entry("recurse"), null, AbortSignal.timeout(5000)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ToolResourceLimitError);
    expect((error as ToolResourceLimitError).limit).toBe("stack");
  });

  it("passes a ToolError's message on, and hides other errors' details behind ToolWorkerError", async () => {
    const p = pool({ size: 1 });
    const refused = await p.run(entry("refuse"), null, never()).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ToolError);
    expect((refused as Error).message).toBe("the thing is not available");
    const leaked = await p.run(entry("leak"), null, never()).catch((err: unknown) => err);
    expect(leaked).toBeInstanceOf(ToolWorkerError);
  });

  it("cuts a huge result to size inside the worker", async () => {
    const result = (await pool().run(entry("big"), null, never())) as { truncated: boolean; preview: string };
    expect(result.truncated).toBe(true);
    expect(result.preview).toHaveLength(TOOL_RESULT_MAX_CHARS);
  });

  it("gives workers an empty environment (no secrets)", async () => {
    expect(await pool().run(entry("envSize"), null, never())).toBe(0);
  });

  it("fails a call whose worker exits, a missing export and a missing module with ToolWorkerError", async () => {
    const p = pool({ size: 1 });
    await expect(p.run(entry("exitNow"), null, never())).rejects.toBeInstanceOf(ToolWorkerError);
    await expect(p.run(entry("notAFunction"), null, never())).rejects.toBeInstanceOf(ToolWorkerError);
    await expect(p.run(entry("noSuchExport"), null, never())).rejects.toBeInstanceOf(ToolWorkerError);
    const missing = { module: new URL("./no-such-module.ts", import.meta.url), export: "x" };
    await expect(p.run(missing, null, never())).rejects.toBeInstanceOf(ToolWorkerError);
    expect(await p.run(entry("echo"), 1, never())).toEqual({ echoed: 1 });
  });

  it("is bounded: with one worker a second call waits for the first, and a call that waits past its deadline never runs", async () => {
    const p = pool({ size: 1 });
    await p.run(entry("echo"), 0, never());
    const first = p.run(entry("later"), { ms: 300 }, never());
    const second = p.run(entry("echo"), "second", never());
    const expired = p.run(entry("echo"), "expired", AbortSignal.timeout(50)).catch((err: unknown) => err);
    expect(((await expired) as Error).name).toBe("TimeoutError");
    expect(await first).toBe("done");
    expect(await second).toEqual({ echoed: "second" });
    expect(p.started).toBe(1); // the expired call was only queued: no worker was killed
  });

  it("close() fails the running and the waiting calls", async () => {
    const p = new ToolWorkerPool({ size: 1 });
    const running = p.run(entry("later"), { ms: 5000 }, never()).catch((err: unknown) => err);
    const waiting = p.run(entry("echo"), 1, never()).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    await p.close();
    expect(await running).toBeInstanceOf(ToolWorkerError);
    expect(await waiting).toBeInstanceOf(ToolWorkerError);
    await expect(p.run(entry("echo"), 1, never())).rejects.toBeInstanceOf(ToolWorkerError);
  });
});

describe("ToolWorkerPool: an agent's worker tools, run from the agent module", () => {
  it("imports the agent module, finds the tool in its default export and runs the author's run off the main thread", async () => {
    const p = pool({ size: 1 });
    expect(await p.run(agentEntry("count_primes"), { below: 100_000 }, never())).toEqual({
      below: 100_000,
      primes: 9592,
    });
    expect(await p.run(agentEntry("worker_heap"), {}, never())).toMatchObject({ isMainThread: false });
    expect(p.started).toBe(1);
  });

  it("fails with tool_not_in_module, across the thread, for a tool the module's default export does not list", async () => {
    // Defined here, not in the agent module: as if made inside a stage, or added conditionally.
    const stray = defineTool({
      name: "stray",
      description: "Not in the module.",
      input: z.object({}),
      isolation: "worker",
      run: () => 1,
    });
    const error = await pool({ size: 1 })
      .run(agentEntry("stray", stray), {}, never())
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ToolModuleError);
    expect((error as ToolModuleError).code).toBe("tool_not_in_module");
    expect((error as Error).message).toContain(
      "stray is not among the tools of worker-agent.ts's default export",
    );
  });

  it("fails with tool_not_in_module when the agent module does not load in a worker (it needs the environment)", async () => {
    const entry = {
      ...agentEntry("count_primes"),
      module: new URL("./fixtures/env-agent.ts", import.meta.url),
    };
    const error = await pool({ size: 1 })
      .run(entry, { below: 10 }, never())
      .catch((err: unknown) => err);
    expect((error as ToolModuleError).code).toBe("tool_not_in_module");
    expect((error as Error).message).toBe(
      "count_primes: env-agent.ts does not load in a tool worker (Error); an agent module with worker tools must load on its own, without environment variables",
    );
  });

  it("fails with tool_module_mismatch for a tool of that name whose definition differs from the registered one", async () => {
    const registered = defineTool({
      name: "count_primes",
      description: "Count the prime numbers below a bound.",
      // The module's bound is 50,000,000: another input schema is another definition.
      input: z.object({ below: z.number().int().min(2).max(1000) }),
      timeoutMs: 5000,
      isolation: "worker",
      run: () => 0,
    });
    const error = await pool({ size: 1 })
      .run(agentEntry("count_primes", registered), { below: 10 }, never())
      .catch((err: unknown) => err);
    expect((error as ToolModuleError).code).toBe("tool_module_mismatch");
  });

  it("holds the agent module with margin: a worker with half the default old generation (32 MB) loads it and runs its tools", async () => {
    const half = DEFAULT_WORKER_LIMITS.maxOldGenerationSizeMb / 2;
    const p = pool({ size: 1, limits: { maxOldGenerationSizeMb: half } });
    expect(await p.run(agentEntry("count_primes"), { below: 1_000_000 }, never())).toEqual({
      below: 1_000_000,
      primes: 78_498,
    });
    const heap = (await p.run(agentEntry("worker_heap"), {}, never())) as Record<string, number>;
    // Measured 12.5 MB of old space and 5 MB of large objects here (see DEFAULT_WORKER_LIMITS).
    expect(Number(heap.oldSpaceMb) + Number(heap.largeObjectMb)).toBeLessThan(half);
  });

  it("with the calculator's mathjs in the same worker, still uses well under the default 64 MB", async () => {
    const p = pool({ size: 1 });
    const calculator = createDefaultTools({
      httpGet: { allowlist: [], timeoutMs: 1000, maxBytes: 1000 },
    }).get("calculator");
    if (!calculator?.worker) throw new Error("the calculator is a worker tool");
    expect(await p.run(calculator.worker, { expression: "2 + 2" }, never())).toMatchObject({ result: "4" });
    const heap = (await p.run(agentEntry("worker_heap"), {}, never())) as Record<string, number>;
    expect(p.started).toBe(1);
    // Measured 19 MB of old space and 6 MB of large objects (24 + 5 MB under tsx).
    expect(Number(heap.oldSpaceMb) + Number(heap.largeObjectMb)).toBeLessThan(
      (DEFAULT_WORKER_LIMITS.maxOldGenerationSizeMb * 3) / 4,
    );
  });
});

describe("worker tools through runTool", () => {
  const p = pool({ size: 1 });

  it("declares where a tool runs", () => {
    const tool = fixtureTool("echo", p);
    expect(tool.isolation).toBe("worker");
    expect(tool.worker).toEqual(entry("echo"));
    const io = defineTool({ name: "io", description: "I/O.", input: z.object({}), run: async () => 1 });
    expect(io.isolation).toBe("in-process");
    expect(io.worker).toBeUndefined();
  });

  it("maps the deadline to tool_timeout, and the event loop stays free meanwhile", async () => {
    const { value: outcome, gapMs } = await longestGap(() => runTool(fixtureTool("spin", p, 400), {}, ctx()));
    expect(errorOf(outcome)).toEqual({
      code: "tool_timeout",
      message: "fixture_spin took longer than 400 ms.",
    });
    expect(outcome.durationMs).toBeLessThan(1000);
    expect(gapMs).toBeLessThan(100);
  });

  it("maps out-of-memory and stack overflow to tool_resource_limit, with a message the model can act on", async () => {
    const memory = errorOf(await runTool(fixtureTool("hog", p, 20_000), {}, ctx()));
    expect(memory.code).toBe("tool_resource_limit");
    expect(memory.message).toMatch(/^fixture_hog stopped: the tool needed more than its 64 MB of memory\.$/);
    const stack = errorOf(await runTool(fixtureTool("recurse", p, 5000), {}, ctx()));
    expect(stack.code).toBe("tool_resource_limit");
    expect(stack.message).toContain("stack");
  });

  it("maps an agent worker tool that is not in its module to tool_not_in_module, with the message", async () => {
    const stray = defineTool({
      name: "stray_tool",
      description: "Not in the module.",
      input: z.object({}),
      isolation: "worker",
      pool: p,
      run: () => 1,
    });
    setAgentModule(AGENT_MODULE);
    try {
      const error = errorOf(await runTool(stray, {}, ctx()));
      expect(error.code).toBe("tool_not_in_module");
      expect(error.message).toMatch(
        /^stray_tool is not among the tools of worker-agent\.ts's default export/,
      );
    } finally {
      setAgentModule(undefined);
    }
  });

  it("maps a ToolError to tool_error with its message, anything else to '<name> failed.'", async () => {
    expect(errorOf(await runTool(fixtureTool("refuse", p), {}, ctx()))).toEqual({
      code: "tool_error",
      message: "the thing is not available",
    });
    const leak = errorOf(await runTool(fixtureTool("leak", p), {}, ctx()));
    expect(leak).toEqual({ code: "tool_error", message: "fixture_leak failed." });
  });

  it("rethrows a cancellation and stops the worker's call", async () => {
    const controller = new AbortController();
    const started = p.started;
    const call = runTool(fixtureTool("spin", p, 10_000), {}, ctx(controller.signal));
    setTimeout(() => controller.abort(new Error("cancelled")), 100);
    await expect(call).rejects.toThrow("cancelled");
    expect(p.started).toBe(started + 1); // terminated and replaced
  });
});

describe("WORKER_SOURCES (what infra bundles for AWS)", () => {
  it("lists the worker entry and the module of every built-in worker tool, with unique file names", () => {
    const root = new URL("../../../..", import.meta.url);
    const listed = WORKER_SOURCES.map((source) => new URL(source, root).href);
    expect(listed).toContain(new URL("packages/agent/tools/worker-host.ts", root).href);
    const workerTools = createDefaultTools({ httpGet: { allowlist: [], timeoutMs: 1000, maxBytes: 1000 } })
      .list()
      .filter((tool) => tool.isolation === "worker");
    expect(workerTools.map((t) => t.name)).toEqual(["calculator"]);
    for (const tool of workerTools) expect(listed).toContain(tool.worker?.module.href);
    const names = WORKER_SOURCES.map(bundledWorkerName);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("worker tools under tsx (npm start)", () => {
  it("run: the worker inherits the process's execArgv (tsx's loader) and imports the tool's .ts module", () => {
    // A fresh Node 24 process under tsx, as `npm start` runs it. The worker gets the parent's
    // execArgv (--import tsx), so tsx loads calculator-eval.ts there too (an enum, which Node's
    // own type stripping refuses, loads in such a worker: checked by hand).
    const tools = new URL("../../../../packages/agent/tools/", import.meta.url);
    const dir = mkdtempSync(path.join(tmpdir(), "stagecast-tsx-"));
    const script = path.join(dir, "probe.mts");
    writeFileSync(
      script,
      `import { calculatorTool } from ${JSON.stringify(new URL("calculator.ts", tools).href)};
       import { runTool } from ${JSON.stringify(new URL("run-tool.ts", tools).href)};
       const ctx = { runId: "r", store: {}, signal: new AbortController().signal, now: () => Date.now() };
       const out = await runTool(calculatorTool, { expression: "5 km to mi" }, ctx);
       console.log(JSON.stringify({ out, execArgv: process.execArgv }));
       process.exit(0);`,
    );
    try {
      const child = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: fileURLToPath(new URL("../../../..", import.meta.url)),
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(child.stderr).toBe("");
      const { out, execArgv } = JSON.parse(child.stdout.trim()) as { out: ToolOutcome; execArgv: string[] };
      expect(execArgv).toContain("tsx");
      expect(out).toMatchObject({ ok: true, result: { result: "3.10685596119 mi" } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
