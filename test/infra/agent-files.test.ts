import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSales, totalSales } from "../../examples/business-insights/sales.ts";
import { agentDataFiles } from "../../infra/agent-files.ts";
import type { RunEvent } from "../../packages/events/index.ts";
import { invokeBundle } from "../../scripts/infra/lambda-runtime.ts";
import { ROOT, SYNTH_DIR } from "../../scripts/infra/synth.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { loadSynthesis } from "./synthesis.ts";

/**
 * An agent's data files on AWS (infra/agent-files.ts): examples/business-insights's tool reads
 * sales.csv beside its module (`new URL("./sales.csv", import.meta.url)`), which esbuild does
 * not bundle. The `insights` stage deploys that example: every function's zip must hold the file
 * where the bundled module looks (beside the handler bundle, functions/), and the bundled stage
 * function must run the example's tool on it under the Lambda runtime interface client.
 */

const insights = loadSynthesis("insights");
const stacks = { ci: loadSynthesis("ci"), example: loadSynthesis("example"), insights };
const SALES_CSV = readFileSync(path.join(ROOT, "examples/business-insights/sales.csv"));
const QUESTION = "Which region grew the most from Q1 to Q2?";
let dynamo: TestDynamo;

/** A function's code as Lambda receives it: its synthesized code.zip, unzipped. */
function unpack(stage: string, name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `stagecast-agent-files-${name}-`));
  execFileSync("unzip", ["-q", path.join(SYNTH_DIR, stage, "artifacts", name, "code.zip"), "-d", dir]);
  return dir;
}

/** The file names a synthesized function's zip holds. */
const zipEntries = (stage: string, name: string) =>
  execFileSync("unzip", ["-Z1", path.join(SYNTH_DIR, stage, "artifacts", name, "code.zip")], {
    encoding: "utf8",
  })
    .trim()
    .split("\n");

/** Invoke the insights stack's stage function, unzipped at `taskRoot`, for one stage of `runId`. */
async function invokeStage(taskRoot: string, runId: string, stage: string, state: unknown) {
  const fn = insights.fn("Stage").inputs;
  return invokeBundle({
    taskRoot,
    handler: String(fn.handler),
    environment: {
      ...(fn.environment as { variables: Record<string, string> }).variables,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.dynalite.endpoint,
    },
    event: { runId, stage, state },
    functionName: String(fn.name),
    timeoutMs: Number(fn.timeout) * 1000,
  });
}

/** A queued run of the question, then its planner and analyst stages in the bundled stage function. */
async function runAnalyst(taskRoot: string) {
  const runId = ulid();
  await dynamo.store.runs.create(runId, { question: QUESTION }, "user-1");
  await dynamo.store.events
    .log(runId)
    .append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question: QUESTION } });
  const planned = await invokeStage(taskRoot, runId, "planner", {});
  expect(planned.error, planned.logs).toBeUndefined();
  const analysed = await invokeStage(taskRoot, runId, "analyst", JSON.parse(planned.body.toString("utf8")));
  const { events } = await dynamo.store.events.read(runId, 0, 200);
  const tools = (events as RunEvent[]).flatMap((e) => (e.type === "tool.completed" ? [e.data] : []));
  return { analysed, tools };
}

beforeAll(async () => {
  const env = (insights.fn("Stage").inputs.environment as { variables: Record<string, string> }).variables;
  dynamo = await startTestDynamo(String(env.TABLE_NAME));
});

afterAll(async () => {
  await dynamo?.close();
});

describe("the agent's data files (infra/agent-files.ts)", () => {
  it("are the files of the agent module's folder that are not code, hidden or node_modules", () => {
    const files = (example: string) => agentDataFiles(path.join(ROOT, "examples", example, "agent.ts"), ROOT);
    expect(files("business-insights")).toEqual(["README.md", "sales.csv"]);
    expect(files("k8s-diagnosis")).toEqual(["README.md", "cluster.json"]);
    expect(files("minimal")).toEqual([]);

    const folder = mkdtempSync(path.join(tmpdir(), "stagecast-agent-folder-"));
    try {
      for (const file of [
        "agent.ts",
        "tools.mjs",
        "agent.js.map",
        "prompt.md",
        "data/regions.csv",
        "data/more/x.json",
        ".env",
        ".cache/y.csv",
        "node_modules/dep/index.json",
      ]) {
        mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
        writeFileSync(path.join(folder, file), "x");
      }
      expect(agentDataFiles(path.join(folder, "agent.ts"), ROOT)).toEqual([
        "data/more/x.json",
        "data/regions.csv",
        "prompt.md",
      ]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it("refuses a module directly in the project root, whose folder is the whole project", () => {
    expect(() => agentDataFiles(path.join(ROOT, "agent.ts"), ROOT)).toThrow(
      /agent agent\.ts: its folder is the project root/,
    );
  });

  it("are in every function's zip beside the handler bundle, byte for byte; none for an agent without data", () => {
    const functions = Object.keys(insights.builds);
    expect(functions).toHaveLength(6);
    for (const name of functions) {
      const entries = zipEntries("insights", name);
      expect(entries, name).toContain("functions/sales.csv");
      expect(
        entries.filter((e) => e === "functions/sales.csv"),
        name,
      ).toHaveLength(1);
      expect(readFileSync(path.join(unpack("insights", name), "functions/sales.csv")), name).toEqual(
        SALES_CSV,
      );
    }
    for (const stage of ["ci", "example"] as const) {
      for (const name of Object.keys(stacks[stage].builds))
        expect(
          zipEntries(stage, name).filter((e) => /\.(csv|md)$/.test(e)),
          `${stage} ${name}`,
        ).toEqual([]);
    }
  });

  it("are read by the bundled stage function: query_sales totals sales.csv as the example's own code does", async () => {
    const { analysed, tools } = await runAnalyst(unpack("insights", "Stage"));
    expect(analysed.error, analysed.logs).toBeUndefined();
    const rows = parseSales(SALES_CSV.toString("utf8"));
    const queries = tools.filter((t) => t.name === "query_sales");
    expect(queries.map((t) => t.ok)).toEqual([true, true]);
    expect(queries.map((t) => t.result)).toEqual(
      (["Q1", "Q2"] as const).map((quarter) =>
        totalSales(rows, { groupBy: "region", metric: "revenue", quarter }),
      ),
    );
    // The growth per region, from the built-in calculator in its worker (infra/tool-workers.ts).
    const calculations = tools.filter((t) => t.name === "calculator");
    expect(calculations.length).toBeGreaterThan(0);
    expect(calculations.every((t) => t.ok)).toBe(true);
  });

  it("are what the bundle needs: without functions/sales.csv in the zip, the tool fails and so does the stage", async () => {
    const taskRoot = unpack("insights", "Stage");
    rmSync(path.join(taskRoot, "functions/sales.csv"));
    const { analysed, tools } = await runAnalyst(taskRoot);
    expect(analysed.error?.errorMessage).toMatch(/query_sales failed/);
    const failed = tools.find((t) => t.name === "query_sales");
    expect(failed?.ok).toBe(false);
    expect(failed?.error?.code).toBe("tool_error");
  });

  it("need not include a JSON import: esbuild inlines it (examples/k8s-diagnosis's cluster.json)", async () => {
    const result = await build({
      entryPoints: [path.join(ROOT, "examples/k8s-diagnosis/agent.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node24",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(Object.keys(result.metafile.inputs)).toContain("examples/k8s-diagnosis/cluster.json");
    expect(result.outputFiles[0]?.text).toContain("checkout-api-7c9d8f6b5-x2k4q");
  });
});
