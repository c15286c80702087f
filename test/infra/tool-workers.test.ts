import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import type { ToolOutcome } from "../../packages/agent/tools/index.ts";
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

/** The Stage function's code as Lambda receives it: its synthesized code.zip, unzipped. */
function unpackStage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "stagecast-tool-workers-"));
  execFileSync("unzip", ["-q", path.join(SYNTH_DIR, "ci/artifacts/Stage/code.zip"), "-d", dir]);
  return dir;
}

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
