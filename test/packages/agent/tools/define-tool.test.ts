import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { AGENT_TOOL_BODY, type AgentToolBody } from "../../../../packages/agent/tools/agent-tool.ts";
import {
  defaultToolWorkerPool,
  defineTool,
  runTool,
  setAgentModule,
  type Tool,
  type ToolContext,
  ToolDefinitionError,
  type ToolOutcome,
} from "../../../../packages/agent/tools/index.ts";
import { countPrimes, workerHeap } from "./fixtures/worker-agent.ts";

/** The fixture agent module: its default export lists count_primes, worker_heap and fixture_words. */
const AGENT_MODULE = new URL("./fixtures/worker-agent.ts", import.meta.url);

afterEach(() => setAgentModule(undefined));

/** A tool context without a store (worker tools do not get one). */
function ctx(): ToolContext {
  return {
    runId: "run-define",
    store: {} as never,
    signal: new AbortController().signal,
    now: () => Date.now(),
  };
}

/** Narrow an outcome to a failure and return its error. */
function errorOf(outcome: ToolOutcome): { code: string; message: string } {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.error;
}

/** Define a worker tool from a spec typed loosely, as JavaScript (or a cast) could pass it. */
const defineLoosely = (spec: Record<string, unknown>) =>
  defineTool({ name: "loose", description: "A tool.", input: z.object({}), ...spec } as never);

describe("defineTool: an agent's worker tool (isolation: worker, run(input))", () => {
  it("declares a worker tool with no module entry, keeping the author's run and its fingerprint for the worker", () => {
    expect(countPrimes.isolation).toBe("worker");
    expect(countPrimes.worker).toBeUndefined();
    expect(countPrimes.timeoutMs).toBe(5000);
    const body = (countPrimes as Tool & { [AGENT_TOOL_BODY]?: AgentToolBody })[AGENT_TOOL_BODY];
    if (!body) throw new Error("count_primes keeps no body");
    expect(body.fingerprint.shape).toMatch(/^[0-9a-f]{64}$/);
    // The author's run, as written: callable in any thread, input in, JSON out.
    expect((body.run as (input: unknown) => unknown)({ below: 10 })).toEqual({ below: 10, primes: 4 });
  });

  it("refuses, at definition time, a run that declares a second parameter: it would expect a per-run context", () => {
    const define = () =>
      defineLoosely({ isolation: "worker", run: (input: unknown, context: unknown) => [input, context] });
    expect(define).toThrow(ToolDefinitionError);
    expect(define).toThrow(
      /loose: a worker tool's run takes only its input \(run\(input\)\); it gets no per-run context/,
    );
  });

  it("refuses a worker tool with both run and a module entry, or neither", () => {
    const worker = { module: AGENT_MODULE, export: "x" };
    expect(() => defineLoosely({ isolation: "worker", run: () => 1, worker })).toThrow(ToolDefinitionError);
    expect(() => defineLoosely({ isolation: "worker" })).toThrow(/either run\(input\).*or worker/);
    expect(() => defineLoosely({ isolation: "worker", run: "not a function" })).toThrow(ToolDefinitionError);
  });

  it("refuses an invalid name with ToolDefinitionError", () => {
    expect(() =>
      defineTool({ name: "Bad Name", description: "x", input: z.object({}), run: async () => 1 }),
    ).toThrow(ToolDefinitionError);
  });

  it("fails a call with tool_not_in_module when the process has no agent module (an agent passed as an object)", async () => {
    const error = errorOf(await runTool(countPrimes, { below: 10 }, ctx()));
    expect(error.code).toBe("tool_not_in_module");
    expect(error.message).toContain("runs only in an agent loaded from a module (STAGECAST_AGENT");
  });

  it("runs in a worker of the shared pool, which imports the process's agent module (warmed first) and runs the tool from it", async () => {
    setAgentModule(AGENT_MODULE);
    const pool = defaultToolWorkerPool();
    const started = pool.started;
    workerHeap.warm?.();
    expect(pool.started).toBe(started + 1); // a worker started, importing the agent module off any call's clock
    const outcome = await runTool(workerHeap, {}, ctx());
    expect(outcome).toMatchObject({ ok: true, result: { isMainThread: false } });
    expect(await runTool(countPrimes, { below: 100 }, ctx())).toMatchObject({
      ok: true,
      result: { below: 100, primes: 25 },
    });
    expect(pool.started).toBe(started + 1);
  });

  it("warms nothing without an agent module", () => {
    const pool = defaultToolWorkerPool();
    const started = pool.started;
    countPrimes.warm?.();
    expect(pool.started).toBe(started);
  });
});
