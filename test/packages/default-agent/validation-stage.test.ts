import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { StageContext } from "../../../packages/agent/index.ts";
import { createDefaultTools, defineTool, ToolRegistry } from "../../../packages/agent/tools/index.ts";
import type { PlanStep } from "../../../packages/default-agent/formats.ts";
import {
  checkPlan,
  MAX_PLAN_STEPS,
  MAX_TOOL_STEPS,
  PLAN_BUDGET_MS,
} from "../../../packages/default-agent/validation-stage.ts";
import { stageTools, type ToolInfo } from "../../../packages/sdk/stage-tools.ts";
import { DEFAULT_AGENT } from "../../support/agents.ts";

/** The tools of a registry as a stage handler sees them (ctx.tools). */
const infos = (registry: ToolRegistry): readonly ToolInfo[] =>
  stageTools({ tools: registry } as StageContext);

const tools = infos(createDefaultTools({ httpGet: { allowlist: [], timeoutMs: 1000, maxBytes: 1000 } }));

/** A tool step with `input` as given (a JSON string, or anything else to test bad inputs). */
const toolStep = (tool: string | null, input: string | null): PlanStep => ({
  kind: "tool",
  tool,
  input,
  description: `call ${tool}`,
});
/** A tool step whose input is `value` encoded as JSON. */
const call = (tool: string, value: unknown): PlanStep => toolStep(tool, JSON.stringify(value));
const modelStep = (description = "write the answer"): PlanStep => ({
  kind: "model",
  tool: null,
  input: null,
  description,
});

describe("checkPlan", () => {
  it("accepts a valid plan: calculator then a model step", () => {
    expect(checkPlan([toolStep("calculator", '{"expression":"1+1"}'), modelStep()], tools)).toEqual([]);
  });

  it("accepts every default tool with valid input, and a model-only plan", () => {
    const plan = [
      call("calculator", { expression: "17 / 100 * 2340" }),
      call("current_time", { timezone: "Europe/Paris" }),
      call("current_time", {}),
      call("memory_search", { query: "paris trip", limit: 2 }),
      modelStep(),
    ];
    expect(checkPlan(plan, tools)).toEqual([]);
    expect(checkPlan([modelStep()], tools)).toEqual([]);
  });

  it("names an unknown tool and lists the available ones", () => {
    const problems = checkPlan([call("weather", { city: "Paris" }), modelStep()], tools);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("step 1");
    expect(problems[0]).toContain('"weather"');
    expect(problems[0]).toContain("available: calculator, current_time, memory_search");
  });

  it("treats a tool step without a tool name as an unknown tool", () => {
    const problems = checkPlan([toolStep(null, '{"expression":"1"}')], tools);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/step 1 uses an unknown tool/);
  });

  it("does not offer http_get when it is off, but accepts it when it is on", () => {
    const step = call("http_get", { url: "https://api.example.com/x" });
    expect(checkPlan([step], tools)[0]).toContain('"http_get"');
    const withHttp = infos(
      createDefaultTools({
        httpGet: { allowlist: ["https://api.example.com/"], timeoutMs: 1000, maxBytes: 1000 },
      }),
    );
    expect(checkPlan([step], withHttp)).toEqual([]);
  });

  it.each([
    ["not JSON at all", "expression: 1+1"],
    ["a JS object literal", "{expression: '1+1'}"],
    ["empty", ""],
  ])("reports input that is not JSON (%s)", (_label, input) => {
    const problems = checkPlan([toolStep("calculator", input), modelStep()], tools);
    expect(problems).toEqual(["step 1: the input of calculator is not JSON"]);
  });

  it("reports a missing (null) input as not JSON", () => {
    expect(checkPlan([toolStep("calculator", null)], tools)).toEqual([
      "step 1: the input of calculator is not JSON",
    ]);
  });

  it("names the field when the input fails the tool's schema", () => {
    const problems = checkPlan([modelStep(), toolStep("calculator", '{"expr":"1"}')], tools);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^step 2: invalid input for calculator \(expression /);
  });

  it("names the field of a wrongly typed or out-of-range value", () => {
    const problems = checkPlan([call("memory_search", { query: "x", limit: 50 })], tools);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("invalid input for memory_search (limit ");
  });

  it("rejects JSON that is not an object", () => {
    for (const input of ["null", "[]", '"1+1"', "42"]) {
      const problems = checkPlan([toolStep("calculator", input)], tools);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain("invalid input for calculator (input ");
    }
  });

  it("reports every bad step, numbered", () => {
    const problems = checkPlan(
      [
        call("calculator", { expression: "2+2" }),
        call("nope", {}),
        toolStep("current_time", "{"),
        modelStep(),
      ],
      tools,
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^step 2 uses an unknown tool "nope"/);
    expect(problems[1]).toBe("step 3: the input of current_time is not JSON");
  });

  it("rejects an empty plan", () => {
    expect(checkPlan([], tools)).toEqual(["the plan has no steps"]);
  });

  it(`accepts ${MAX_PLAN_STEPS} steps and rejects more`, () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => modelStep(`think ${i}`));
    expect(checkPlan(steps(MAX_PLAN_STEPS), tools)).toEqual([]);
    const problems = checkPlan(steps(MAX_PLAN_STEPS + 1), tools);
    expect(problems).toEqual([`the plan has ${MAX_PLAN_STEPS + 1} steps (at most ${MAX_PLAN_STEPS})`]);
  });

  it(`accepts ${MAX_TOOL_STEPS} tool calls and rejects more`, () => {
    const calls = (n: number) =>
      Array.from({ length: n }, (_, i) => call("calculator", { expression: `${i}+1` }));
    expect(checkPlan([...calls(MAX_TOOL_STEPS), modelStep()], tools)).toEqual([]);
    const plan = [...calls(MAX_TOOL_STEPS + 1), modelStep()];
    expect(plan.length).toBeLessThanOrEqual(MAX_PLAN_STEPS);
    expect(checkPlan(plan, tools)).toEqual([
      `the plan makes ${MAX_TOOL_STEPS + 1} tool calls (at most ${MAX_TOOL_STEPS})`,
    ]);
  });

  it("rejects tool calls whose time limits add up to more than PLAN_BUDGET_MS", () => {
    const slow = defineTool({
      name: "slow_report",
      description: "Builds a slow report.",
      input: z.object({ topic: z.string() }),
      timeoutMs: 20_000,
      run: async ({ topic }) => topic,
    });
    const registry = infos(new ToolRegistry().register(slow));
    const step = call("slow_report", { topic: "sales" });
    expect(checkPlan([step, modelStep()], registry)).toEqual([]);
    const problems = checkPlan([step, step, modelStep()], registry);
    expect(problems).toEqual([`the tool calls may take 40000 ms (budget ${PLAN_BUDGET_MS} ms)`]);
  });

  it("allows a budget of exactly PLAN_BUDGET_MS", () => {
    const exact = defineTool({
      name: "exact",
      description: "Takes the whole budget.",
      input: z.object({}),
      timeoutMs: PLAN_BUDGET_MS,
      run: async () => null,
    });
    const registry = infos(new ToolRegistry().register(exact));
    expect(checkPlan([call("exact", {})], registry)).toEqual([]);
  });

  it("counts the budget with each tool's own time limit", () => {
    const limits = tools.map((t) => t.timeoutMs);
    expect(limits.every((ms) => ms > 0)).toBe(true);
    const perCall = tools.find((t) => t.name === "memory_search")?.timeoutMs ?? 0;
    const fits = Math.floor(PLAN_BUDGET_MS / perCall);
    const plan = Array.from({ length: fits + 1 }, () => call("memory_search", { query: "x" }));
    const problems = checkPlan(plan, tools);
    expect(problems).toContain(
      `the tool calls may take ${(fits + 1) * perCall} ms (budget ${PLAN_BUDGET_MS} ms)`,
    );
  });
});

describe("the validation stage's outcome (the built-in agent's own stage code)", () => {
  /** The internal context the runner gives the stage: the plan in the state's outputs, as planning left it. */
  const ctx = (plan: unknown[]) =>
    ({
      runId: "r1",
      attempt: 0,
      state: { question: "q", outputs: { planning: { plan } } },
      tools: createDefaultTools({ httpGet: { allowlist: [], timeoutMs: 1000, maxBytes: 1000 } }),
      model: { model: "m" },
      signal: new AbortController().signal,
      progress: async () => {},
    }) as unknown as StageContext;
  const validation = DEFAULT_AGENT.stage("validation")?.run;
  if (!validation) throw new Error("the built-in agent has no validation stage");

  it("a valid plan: no goto; its verdict is the stage's output and stage.completed data", async () => {
    const outcome = await validation(
      ctx([{ kind: "model", tool: null, input: null, description: "answer" }]),
    );
    expect(outcome.goto).toBeUndefined();
    expect(outcome.state.outputs?.validation).toEqual({ valid: true, problems: [] });
    expect(outcome.data).toEqual({ valid: true, problems: [] });
  });

  it("an invalid plan: goto planning, the problems in its output (planning reads them) and stage.completed data", async () => {
    const outcome = await validation(ctx([]));
    expect(outcome.goto).toBe("planning");
    expect(outcome.state.outputs?.validation).toEqual({ valid: false, problems: ["the plan has no steps"] });
    expect(outcome.data).toEqual({ valid: false, problems: ["the plan has no steps"] });
  });
});
