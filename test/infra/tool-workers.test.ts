import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { toolWorkerBuilds } from "../../infra/tool-worker-builds.ts";
import { bundledAgentModule } from "../../packages/agent/tools/agent-module.ts";
import type { ToolOutcome } from "../../packages/agent/tools/index.ts";
import { resolveWorkerModule } from "../../packages/agent/tools/worker-module.ts";
import {
  bundledWorkerName,
  WORKER_BUNDLE_DIR,
  WORKER_SOURCES,
} from "../../packages/agent/tools/worker-sources.ts";
import { invokeBundle } from "../../scripts/infra/lambda-runtime.ts";
import { ROOT, SYNTH_DIR } from "../../scripts/infra/synth.ts";

/**
 * The calculator runs in a worker thread, whose code is a file of its own: infra/tool-workers.ts
 * bundles the worker modules and copies them into the Stage function's zip. These tests look
 * at the synthesized zip, then run the calculator from that layout under aws-lambda-ric, with
 * no node_modules anywhere, as on Lambda.
 */

/** The Stage function's code as Lambda receives it: its synthesized code.zip (of `stage`), unzipped. */
function unpackStage(stage = "ci"): string {
  const dir = mkdtempSync(path.join(tmpdir(), "stagecast-tool-workers-"));
  execFileSync("unzip", ["-q", path.join(SYNTH_DIR, stage, "artifacts/Stage/code.zip"), "-d", dir]);
  return dir;
}

/** The esbuild settings SST bundles a handler with (functions/<name>.ts → functions/<name>.mjs). */
const HANDLER_BUILD = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  logLevel: "silent",
  banner: {
    js: `import { createRequire as topLevelCreateRequire } from "module"; const require = topLevelCreateRequire(import.meta.url);`,
  },
} as const;

/** The fixture agent with worker tools (count_primes, worker_heap, fixture_words) and its data file. */
const FIXTURE_AGENT = path.join(ROOT, "test/packages/agent/tools/fixtures/worker-agent.ts");
const FIXTURE_DATA = "worker-agent-words.txt";

describe("tool workers in the Stage function's bundle", () => {
  it("holds every worker module, self-contained, next to the handler", () => {
    const dir = unpackStage();
    expect(existsSync(path.join(dir, "functions/stage.mjs"))).toBe(true);
    for (const source of WORKER_SOURCES) {
      expect(existsSync(path.join(dir, "functions", WORKER_BUNDLE_DIR, bundledWorkerName(source)))).toBe(
        true,
      );
    }
  });

  it("runs the calculator in a worker from the deployed layout: a result, and a CPU-bound expression stopped at its deadline", async () => {
    const dir = unpackStage();
    // A handler bundled the way SST bundles functions/stage.ts (one file in functions/), so the
    // calculator's `new URL("./calculator-eval.ts", import.meta.url)` points where stage.mjs's does.
    const entry = path.join(dir, "probe-entry.ts");
    const tools = path.join(ROOT, "packages/agent/tools");
    writeFileSync(
      entry,
      `import { calculatorTool } from ${JSON.stringify(path.join(tools, "calculator.ts"))};
       import { runTool } from ${JSON.stringify(path.join(tools, "run-tool.ts"))};
       export const handler = async (event: { expressions: string[] }) => {
         const outcomes = [];
         for (const expression of event.expressions) {
           const ctx = { runId: "probe", store: {} as never, signal: new AbortController().signal, now: () => Date.now() };
           outcomes.push(await runTool(calculatorTool, { expression }, ctx));
         }
         return outcomes;
       };`,
    );
    await build({
      entryPoints: [entry],
      outfile: path.join(dir, "functions/probe.mjs"),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      logLevel: "silent",
      banner: {
        js: `import { createRequire as topLevelCreateRequire } from "module"; const require = topLevelCreateRequire(import.meta.url);`,
      },
    });
    const result = await invokeBundle({
      taskRoot: dir,
      handler: "functions/probe.handler",
      environment: {},
      event: {
        expressions: ["17 / 100 * 2340", "5 km to mi", "combinations(10000000000, 5000000000)", "1 + 1"],
      },
    });
    expect(result.error, result.logs).toBeUndefined();
    const outcomes = JSON.parse(result.body.toString("utf8")) as ToolOutcome[];
    expect(outcomes[0]).toMatchObject({ ok: true, result: { result: "397.8" } });
    expect(outcomes[1]).toMatchObject({ ok: true, result: { result: "3.10685596119 mi" } });
    expect(outcomes[2]).toMatchObject({ ok: false, error: { code: "tool_timeout" } });
    expect(outcomes[3]).toMatchObject({ ok: true, result: { result: "2" } });
  });
});

describe("an agent's worker tools in the Stage function's bundle (an agent module deployed)", () => {
  it("holds the agent module's own bundle beside the worker modules only when an agent is deployed", () => {
    const example = readdirSync(path.join(unpackStage("example"), "functions", WORKER_BUNDLE_DIR)).sort();
    expect(example).toEqual([...WORKER_SOURCES.map(bundledWorkerName), "agent.mjs"].sort());
    const builtIn = readdirSync(path.join(unpackStage("ci"), "functions", WORKER_BUNDLE_DIR)).sort();
    expect(builtIn).toEqual(WORKER_SOURCES.map(bundledWorkerName).sort());
  });

  it("the deployed agent's bundle is self-contained: a worker in a folder without node_modules loads it, as the handler finds it", async () => {
    const dir = unpackStage("example");
    // What functions/aws.ts sets as the agent module, resolved as the pool resolves it.
    const handler = pathToFileURL(path.join(dir, "functions/stage.mjs"));
    const module = resolveWorkerModule(
      bundledAgentModule(path.join(ROOT, "examples/minimal/agent.ts"), handler),
    );
    expect(module.href).toBe(pathToFileURL(path.join(dir, "functions", WORKER_BUNDLE_DIR, "agent.mjs")).href);
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       import(workerData).then(
         (m) => parentPort.postMessage({ name: m.default.name, tools: m.default.tools.map((t) => t.name) }),
         (e) => parentPort.postMessage({ error: String(e) }),
       );`,
      { eval: true, workerData: module.href, env: {} },
    );
    try {
      const [loaded] = (await once(worker, "message")) as [unknown];
      expect(loaded).toEqual({ name: "minimal", tools: ["word_count"] });
    } finally {
      await worker.terminate();
    }
  });

  it("runs an agent's worker tools from the deployed layout under the Lambda runtime: CPU-bound, heap, a data file beside the handler", async () => {
    const dir = unpackStage("example");
    const functions = path.join(dir, "functions");
    // The agent bundled as infra/tool-workers.ts bundles a deployed agent, and its data file
    // where infra/agent-files.ts copies it (beside the handler).
    for (const options of toolWorkerBuilds(ROOT, path.join(functions, WORKER_BUNDLE_DIR), FIXTURE_AGENT)) {
      await build(options);
    }
    copyFileSync(path.join(path.dirname(FIXTURE_AGENT), FIXTURE_DATA), path.join(functions, FIXTURE_DATA));
    // A handler that loads the agent as functions/aws.ts does: bundled in, agent module set.
    const tools = path.join(ROOT, "packages/agent/tools");
    const entry = path.join(dir, "probe-agent-entry.ts");
    writeFileSync(
      entry,
      `import agent from ${JSON.stringify(FIXTURE_AGENT)};
       import { bundledAgentModule, setAgentModule } from ${JSON.stringify(path.join(tools, "agent-module.ts"))};
       import { runTool } from ${JSON.stringify(path.join(tools, "run-tool.ts"))};
       setAgentModule(bundledAgentModule(${JSON.stringify(FIXTURE_AGENT)}, import.meta.url));
       export const handler = async (event: { calls: [string, unknown][] }) => {
         const outcomes = [];
         for (const [name, input] of event.calls) {
           const tool = agent.tools?.find((t) => t.name === name);
           const ctx = { runId: "probe", store: {} as never, signal: new AbortController().signal, now: () => Date.now() };
           outcomes.push(tool ? await runTool(tool, input, ctx) : { missing: name });
         }
         return outcomes;
       };`,
    );
    await build({ ...HANDLER_BUILD, entryPoints: [entry], outfile: path.join(functions, "probe-agent.mjs") });
    const result = await invokeBundle({
      taskRoot: dir,
      handler: "functions/probe-agent.handler",
      environment: {},
      event: {
        calls: [
          ["count_primes", { below: 100_000 }],
          ["worker_heap", {}],
          ["fixture_words", {}],
        ],
      },
    });
    expect(result.error, result.logs).toBeUndefined();
    const [primes, heap, words] = JSON.parse(result.body.toString("utf8")) as ToolOutcome[];
    expect(primes).toMatchObject({ ok: true, result: { below: 100_000, primes: 9592 } });
    expect(heap).toMatchObject({ ok: true, result: { isMainThread: false } });
    // The minified bundle: about 7 MB of old space and 1 MB of large objects (see DEFAULT_WORKER_LIMITS).
    const used = (heap as { result: { oldSpaceMb: number; largeObjectMb: number } }).result;
    expect(used.oldSpaceMb + used.largeObjectMb).toBeLessThan(32);
    expect(words).toMatchObject({ ok: true, result: { words: ["alpha", "beta", "gamma"] } });
  });
});
