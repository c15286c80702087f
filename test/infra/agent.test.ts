import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import exampleDefinition from "../../examples/minimal/agent.ts";
import { loadDeployedAgent, stageFunctionTimeout } from "../../infra/agent.ts";
import { checkAgent } from "../../packages/agent/index.ts";
import { definitionJson, stateName } from "../../packages/workflow/index.ts";
import { invokeBundle } from "../../scripts/infra/lambda-runtime.ts";
import { ROOT, SYNTH_DIR } from "../../scripts/infra/synth.ts";
import { DEFAULT_AGENT as defaultAgent } from "../support/agents.ts";
import { startTestDynamo, type TestDynamo } from "../support/dynamo.ts";
import { loadSynthesis } from "./synthesis.ts";

/** asl-validator is CommonJS without types: `validator(definition) → { isValid, errorsText }`. */
type AslValidator = (definition: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };
const aslValidator = createRequire(import.meta.url)("asl-validator") as AslValidator;

const stacks = { ci: loadSynthesis("ci"), example: loadSynthesis("example") };
const example = checkAgent(exampleDefinition);
let dynamo: TestDynamo;

/** Invoke the example stack's bundled stage function under the runtime interface client. */
async function invokeExampleStage(event: unknown) {
  const fn = stacks.example.fn("Stage").inputs;
  const taskRoot = mkdtempSync(path.join(tmpdir(), "stagecast-example-stage-"));
  execFileSync("unzip", ["-q", path.join(SYNTH_DIR, "example/artifacts/Stage/code.zip"), "-d", taskRoot]);
  return invokeBundle({
    taskRoot,
    handler: String(fn.handler),
    environment: {
      ...(fn.environment as { variables: Record<string, string> }).variables,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.dynalite.endpoint,
    },
    event,
    functionName: String(fn.name),
    timeoutMs: Number(fn.timeout) * 1000,
  });
}

beforeAll(async () => {
  const env = (stacks.example.fn("Stage").inputs.environment as { variables: Record<string, string> })
    .variables;
  dynamo = await startTestDynamo(String(env.TABLE_NAME));
});

afterAll(async () => {
  await dynamo?.close();
});

describe("the deployed agent (sst.config.ts's AGENT setting, STAGECAST_AGENT overriding it)", () => {
  it.each([
    ["ci", defaultAgent],
    ["example", example],
  ] as const)(
    "generates the %s stack's state machine from its agent: one valid Task per stage",
    (name, agent) => {
      const stack = stacks[name];
      const definition = stack.one("aws:sfn/stateMachine:StateMachine", "Workflow").inputs
        .definition as string;
      expect(definition).toBe(
        definitionJson(agent, {
          stageFunctionArn: stack.functionArn("Stage"),
          finalizeFunctionArn: stack.functionArn("Finalize"),
        }),
      );
      const parsed = JSON.parse(definition) as {
        States: Record<string, { Type: string; Resource?: string }>;
      };
      for (const stage of agent.stages)
        expect(parsed.States[stateName(stage.name)]?.Type, stage.name).toBe("Task");
      const validation = aslValidator(parsed);
      expect(validation.isValid, validation.errorsText()).toBe(true);
    },
  );

  it("sizes the stage function from the agent's longest stage and keeps the setting out of the functions' environment", () => {
    expect(stacks.example.fn("Stage").inputs.timeout).toBe(300);
    expect(stacks.ci.fn("Stage").inputs.timeout).toBe(900);
    for (const fn of stacks.example.all("aws:lambda/function:Function")) {
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      expect(env.STAGECAST_AGENT, fn.name).toBeUndefined();
    }
  });

  it("stops the deploy when a stage's timeout exceeds Lambda's 900 s, or the module cannot be loaded", async () => {
    const tooLong = checkAgent({
      name: "slow",
      stages: [{ name: "crunch", timeoutSeconds: 901, run: async () => ({ state: {}, message: "done" }) }],
    });
    expect(() => stageFunctionTimeout(tooLong)).toThrow(
      "agent slow: stage crunch's timeout of 901 s exceeds Lambda's 900 s",
    );
    await expect(loadDeployedAgent("examples/missing/agent.ts", ROOT)).rejects.toThrow(
      /agent examples\/missing\/agent\.ts \(sst\.config\.ts\): the module could not be loaded/,
    );
    const deployed = await loadDeployedAgent(undefined, ROOT);
    expect(deployed.module).toBeUndefined();
    // The built-in agent, checked: same name and stage settings (each check makes its own objects).
    const settings = (agent: typeof defaultAgent) => agent.stages.map(({ run: _run, ...stage }) => stage);
    expect(deployed.agent.name).toBe(defaultAgent.name);
    expect(settings(deployed.agent)).toEqual(settings(defaultAgent));
  });

  it("bundles the module into every function (they all compose the same agent), and only there", () => {
    for (const [name, build] of Object.entries(stacks.example.builds)) {
      const bundle = readFileSync(path.join(build.out, build.handler.replace(/\.[^.]+$/, ".mjs")), "utf8");
      expect(bundle.includes("word_count"), name).toBe(true);
      const builtIn = stacks.ci.builds[name];
      if (!builtIn) throw new Error(`no ${name} build in ci`);
      const ciBundle = readFileSync(
        path.join(builtIn.out, builtIn.handler.replace(/\.[^.]+$/, ".mjs")),
        "utf8",
      );
      expect(ciBundle.includes("word_count"), name).toBe(false);
    }
  });

  it("bundles the module into the stage function, which runs the example's stage", async () => {
    const runId = ulid();
    const question = "How many words are in this question?";
    await dynamo.store.runs.create(runId, { question }, "user-1");
    await dynamo.store.events.log(runId).append({
      type: "run.queued",
      progress: 0,
      message: "Run queued.",
      data: { question },
    });
    const result = await invokeExampleStage({ runId, stage: "measure", state: {} });
    expect(result.error).toBeUndefined();
    const { events } = await dynamo.store.events.read(runId, 0, 100);
    const types = events.map((e) => `${e.type}${e.stage ? `:${e.stage}` : ""}`);
    expect(types).toContain("stage.started:measure");
    expect(types).toContain("stage.completed:measure");
    expect(JSON.stringify(JSON.parse(result.body.toString("utf8")))).toContain('"words":7');
  });

  it("rejects a stage of the built-in agent: the bundle runs the example agent only", async () => {
    const runId = ulid();
    await dynamo.store.runs.create(runId, { question: "q" }, "user-1");
    await dynamo.store.events
      .log(runId)
      .append({ type: "run.queued", progress: 0, message: "Run queued.", data: { question: "q" } });
    const result = await invokeExampleStage({ runId, stage: "context", state: {} });
    expect(result.error?.errorType).toBe("StageFailedError");
    expect(result.error?.errorMessage).toBe("The agent minimal has no stage context.");
  });
});
