import { createRequire } from "node:module";
import { type RunOptions, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { type Agent, checkAgent, type StageImpl } from "../../../packages/agent/index.ts";
import type { RunState } from "../../../packages/agent/run-state.ts";
import type { StageOutcome } from "../../../packages/agent/stage-context.ts";
import { applyOutcome } from "../../../packages/agent/stage-loop.ts";
import {
  buildDefinition,
  definitionJson,
  executionInput,
  exhaustedStateName,
  LOOP_EXHAUSTED_ERROR,
  loopStateName,
  stateName,
  TRANSIENT_ERRORS,
  type WorkflowArns,
  type WorkflowShape,
  WorkflowShapeError,
} from "../../../packages/workflow/index.ts";
import { DEFAULT_AGENT as defaultAgent } from "../../support/agents.ts";

/** asl-validator is CommonJS without types: `validator(definition, options?) → { isValid, errors, errorsText }`. */
type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: Array<{ message?: string }>; errorsText: (sep?: string) => string };
type LocalHandlers = NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;
type JSONValue = ReturnType<LocalHandlers[string]> extends infer R ? Awaited<R> : never;
type ExecutionInput = Parameters<StateMachine["run"]>[0];

const aslValidator = createRequire(import.meta.url)("asl-validator") as AslValidator;

const arns: WorkflowArns = {
  stageFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:stagecast-stage",
  finalizeFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:stagecast-finalize",
};

interface AnyState {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: Array<{ ErrorEquals: string[]; MaxAttempts?: number }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Choices?: Array<Record<string, unknown> & { Next: string }>;
  Default?: string;
  Parameters?: Record<string, unknown>;
  Result?: unknown;
  ResultPath?: string | null;
}

interface ParsedDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AnyState>;
}

/** The definition as Step Functions receives it (the JSON string parsed back). */
function definition(shape: WorkflowShape = defaultAgent, options?: { executionTimeoutSeconds?: number }) {
  return JSON.parse(definitionJson(shape, arns, options)) as ParsedDefinition;
}

function validate(def: unknown) {
  // The validator annotates the object it checks: give it a copy.
  return aslValidator(structuredClone(def));
}

const run: StageImpl = async () => ({ state: {}, message: "done" });
const exhausted = (code: string) => ({ code, message: `Gave up (${code}).` });

/** Three stages, the middle one looping back to the first at most three times. */
const reviewer = checkAgent({
  name: "reviewer",
  stages: [
    { name: "draft", timeoutSeconds: 30, retries: 1, run },
    {
      name: "review",
      timeoutSeconds: 45,
      run,
      loop: { to: "draft", max: 3, exhausted: exhausted("review_rejected") },
    },
    { name: "publish", retries: 0, run },
  ],
});
/** One stage, no loop. */
const single = checkAgent({ name: "single", stages: [{ name: "answer", timeoutSeconds: 300, run }] });
/** Eight stages in a line, no loop. */
const pipeline = checkAgent({
  name: "pipeline",
  stages: Array.from({ length: 8 }, (_, i) => ({ name: `step_${i + 1}`, timeoutSeconds: 10 + i, run })),
});
/** The last stage loops: the Choice after it needs a state that ends the execution. */
const lastLoops = checkAgent({
  name: "last-loops",
  stages: [
    { name: "write", run },
    { name: "check", run, loop: { to: "write", max: 1, exhausted: exhausted("check_failed") } },
  ],
});

/** The states visited from StartAt when no stage asks to loop (each Choice's Default). */
function straightPath(def: ParsedDefinition): string[] {
  const path: string[] = [];
  let current: string | undefined = def.StartAt;
  while (current !== undefined && path.length < 40) {
    path.push(current);
    const state: AnyState | undefined = def.States[current];
    if (!state || state.End || state.Type === "Succeed") break;
    current = state.Type === "Choice" ? state.Default : state.Next;
  }
  return path;
}

describe("ASL generated from an agent", () => {
  it.each([
    ["the default agent", defaultAgent],
    ["a 3-stage agent with a loop", reviewer],
    ["a 1-stage agent", single],
    ["an 8-stage agent without a loop", pipeline],
    ["an agent whose last stage loops", lastLoops],
  ])("is valid Amazon States Language for %s (asl-validator, paths and ARNs checked)", (_label, agent) => {
    const result = validate(definition(agent));
    expect(result.errors, result.isValid ? "" : result.errorsText("\n")).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("the validator does catch a broken definition (sanity check of the check)", () => {
    const broken = definition();
    const validation = broken.States.Validation;
    if (validation) validation.Next = "NoSuchState";
    expect(validate(broken).isValid).toBe(false);
  });

  it("buildDefinition and definitionJson agree", () => {
    expect(JSON.parse(definitionJson(reviewer, arns))).toEqual(
      JSON.parse(JSON.stringify(buildDefinition(reviewer, arns))),
    );
  });

  it("the default agent: one Task per stage, validation's loop, Finalize and Failed", () => {
    expect(Object.keys(definition().States)).toEqual([
      "Context",
      "Analyzing",
      "Planning",
      "Validation",
      "ValidationLoop",
      "ValidationLoopExhausted",
      "Execution",
      "Memory",
      "Finalize",
      "Failed",
    ]);
    expect(straightPath(definition())).toEqual([
      "Context",
      "Analyzing",
      "Planning",
      "Validation",
      "ValidationLoop",
      "Execution",
      "Memory",
    ]);
    expect(definition().States.Memory?.End).toBe(true);
  });

  it.each([
    ["reviewer", reviewer],
    ["single", single],
    ["pipeline", pipeline],
  ])("%s: Tasks are the capitalised stage names in order, the last one ends", (_label, agent) => {
    const def = definition(agent);
    const tasks = agent.stages.map((s) => stateName(s.name));
    expect(def.StartAt).toBe(tasks[0]);
    expect(straightPath(def).filter((name) => def.States[name]?.Type === "Task")).toEqual(tasks);
    expect(def.States[tasks.at(-1) ?? ""]?.End).toBe(true);
  });

  it("every stage Task has its own TimeoutSeconds and Retry MaxAttempts, the transient errors only", () => {
    for (const agent of [defaultAgent, reviewer, single, pipeline]) {
      const { States } = definition(agent);
      for (const stage of agent.stages) {
        const task = States[stateName(stage.name)];
        const label = `${agent.name}/${stage.name}`;
        expect(task?.Type, label).toBe("Task");
        expect(task?.Resource, label).toBe(arns.stageFunctionArn);
        expect(task?.Parameters, label).toEqual({
          "runId.$": "$.runId",
          stage: stage.name,
          "state.$": "$.state",
        });
        expect(task?.TimeoutSeconds, label).toBe(stage.timeoutSeconds);
        expect(task?.Retry, label).toHaveLength(1);
        expect(task?.Retry?.[0]?.MaxAttempts, label).toBe(stage.retries);
        expect(task?.Retry?.[0]?.ErrorEquals, label).toEqual([...TRANSIENT_ERRORS]);
      }
    }
    expect(definition(reviewer).States.Draft).toMatchObject({
      TimeoutSeconds: 30,
      Retry: [{ MaxAttempts: 1 }],
    });
    expect(definition(reviewer).States.Publish).toMatchObject({
      TimeoutSeconds: 120,
      Retry: [{ MaxAttempts: 0 }],
    });
    expect(definition(defaultAgent).States.Execution?.TimeoutSeconds).toBe(900);
  });

  it("every stage Task catches States.ALL into Finalize at $.error; Finalize has no Catch and ends in Failed", () => {
    for (const agent of [defaultAgent, reviewer, single]) {
      const { States } = definition(agent);
      for (const stage of agent.stages) {
        const catches = States[stateName(stage.name)]?.Catch ?? [];
        // The error must not overwrite the run id Finalize needs.
        expect(catches, stage.name).toEqual([
          { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Finalize" },
        ]);
      }
      expect(States.Finalize?.Resource).toBe(arns.finalizeFunctionArn);
      expect(States.Finalize?.Parameters).toEqual({ "runId.$": "$.runId", "error.$": "$.error" });
      expect(States.Finalize?.Catch).toBeUndefined();
      expect(States.Finalize?.Next).toBe("Failed");
      expect(States.Failed?.Type).toBe("Fail");
    }
  });

  it("a loop is a Choice after its stage: back while goto = to and loops ≤ max, exhausted when over, else on", () => {
    const { States } = definition(reviewer);
    expect(States.Review?.Next).toBe(loopStateName("review"));
    const goto = [
      { Variable: "$.state.goto", IsPresent: true },
      { Variable: "$.state.goto", StringEquals: "draft" },
    ];
    expect(States.ReviewLoop).toMatchObject({
      Type: "Choice",
      Choices: [
        {
          And: [
            ...goto,
            { Variable: "$.state.loops.review", IsPresent: true },
            { Variable: "$.state.loops.review", NumericLessThanEquals: 3 },
          ],
          Next: "Draft",
        },
        { And: goto, Next: exhaustedStateName("review") },
      ],
      Default: "Publish",
    });
    expect(States.ReviewLoopExhausted).toMatchObject({
      Type: "Pass",
      Result: { Error: LOOP_EXHAUSTED_ERROR, Cause: "Gave up (review_rejected).", Code: "review_rejected" },
      ResultPath: "$.error",
      Next: "Finalize",
    });
  });

  it("the default agent's loop: back to Planning at most twice, then plan_invalid with its message", () => {
    const { States } = definition();
    expect(States.ValidationLoop?.Choices?.[0]).toMatchObject({ Next: "Planning" });
    expect(JSON.stringify(States.ValidationLoop?.Choices?.[0])).toContain('"NumericLessThanEquals":2');
    expect(States.ValidationLoop?.Default).toBe("Execution");
    expect(States.ValidationLoopExhausted?.Result).toEqual({
      Error: "LoopExhausted",
      Cause: "The agent could not produce a valid plan after two repairs.",
      Code: "plan_invalid",
    });
  });

  it("a last stage that loops goes on to RunSucceeded, a Succeed state", () => {
    const { States } = definition(lastLoops);
    expect(States.CheckLoop?.Default).toBe("RunSucceeded");
    expect(States.RunSucceeded?.Type).toBe("Succeed");
    expect(definition(reviewer).States.RunSucceeded).toBeUndefined();
  });

  it("uses the overall execution timeout", () => {
    expect(definition().TimeoutSeconds).toBe(3600);
    expect(definition(defaultAgent, { executionTimeoutSeconds: 1234 }).TimeoutSeconds).toBe(1234);
  });

  it.each([
    ["no stages", { name: "x", stages: [] }, /at least one stage/],
    [
      "a reserved name",
      { name: "x", stages: [{ name: "finalize", timeoutSeconds: 1, retries: 0 }] },
      /reserved/,
    ],
    ["an invalid name", { name: "x", stages: [{ name: "Plan", timeoutSeconds: 1, retries: 0 }] }, /invalid/],
    [
      "a duplicate stage",
      {
        name: "x",
        stages: [
          { name: "a", timeoutSeconds: 1, retries: 0 },
          { name: "a", timeoutSeconds: 1, retries: 0 },
        ],
      },
      /defined twice/,
    ],
    [
      "a loop to a later stage",
      {
        name: "x",
        stages: [
          { name: "a", timeoutSeconds: 1, retries: 0, loop: { to: "b", max: 1, exhausted: exhausted("x") } },
          { name: "b", timeoutSeconds: 1, retries: 0 },
        ],
      },
      /not an earlier stage/,
    ],
  ])("refuses a shape with %s (WorkflowShapeError)", (_label, shape, message) => {
    expect(() => buildDefinition(shape, arns)).toThrow(WorkflowShapeError);
    expect(() => buildDefinition(shape, arns)).toThrow(message);
  });
});

type StageInput = { runId: string; stage: string; state: RunState };

/**
 * Run an agent's definition in aws-local-stepfunctions with each stage Task mapped to an
 * in-process fake whose outcome goes through the runner's real loop bookkeeping (applyOutcome).
 */
async function execute(agent: Agent, outcome: (input: StageInput) => StageOutcome | Promise<StageOutcome>) {
  const calls: Array<{ state: string; input: StageInput }> = [];
  const finalized: unknown[] = [];
  const handlers: LocalHandlers = {};
  for (const { name } of agent.stages) {
    handlers[stateName(name)] = async (raw) => {
      const input = raw as unknown as StageInput;
      calls.push({ state: stateName(name), input });
      return applyOutcome(agent, name, input.state, await outcome(input)) as unknown as JSONValue;
    };
  }
  handlers.Finalize = (input) => {
    finalized.push(input);
    return null;
  };
  const def = buildDefinition(agent, arns);
  const machine = new StateMachine(def as unknown as StateMachineDefinition);
  const retryIntervalOverrides = Object.fromEntries(Object.keys(def.States).map((n) => [n, 0]));
  const execution = machine.run(executionInput("01J00000000000000000000000") as unknown as ExecutionInput, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
  });
  const result = await execution.result.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return { calls, finalized, result, visited: calls.map((c) => c.state) };
}

/** Validation's behaviour by outcome: invalid asks to go back to planning, like the real stage. */
const validation = (valid: boolean): StageOutcome =>
  valid ? { state: {}, message: "valid" } : { state: {}, message: "invalid", goto: "planning" };

describe("ASL generated from an agent, executed", () => {
  it("the default agent with a valid plan runs the six stages once each, in order, passing state along", async () => {
    const { visited, finalized, result, calls } = await execute(defaultAgent, ({ stage }) =>
      stage === "validation" ? validation(true) : { state: { [stage]: true } as never, message: stage },
    );
    expect(result.ok).toBe(true);
    expect(visited).toEqual(["Context", "Analyzing", "Planning", "Validation", "Execution", "Memory"]);
    expect(finalized).toEqual([]);
    expect(calls[0]?.input).toEqual({ runId: "01J00000000000000000000000", stage: "context", state: {} });
    expect(calls.at(-1)?.input).toMatchObject({ stage: "memory", state: { context: true, execution: true } });
  });

  it("an always-invalid plan goes back to planning twice, then Finalize gets plan_invalid", async () => {
    const { visited, finalized, result, calls } = await execute(defaultAgent, ({ stage }) =>
      stage === "validation" ? validation(false) : { state: {}, message: stage },
    );
    expect(result.ok).toBe(false);
    expect(visited.filter((s) => s === "Planning")).toHaveLength(3);
    expect(visited.filter((s) => s === "Validation")).toHaveLength(3);
    expect(visited).not.toContain("Execution");
    // The runner's count as planning saw it: 0, then 1, then 2.
    expect(
      calls.filter((c) => c.state === "Planning").map((c) => c.input.state.loops?.validation ?? 0),
    ).toEqual([0, 1, 2]);
    expect(finalized).toEqual([
      {
        runId: "01J00000000000000000000000",
        error: {
          Error: "LoopExhausted",
          Cause: "The agent could not produce a valid plan after two repairs.",
          Code: "plan_invalid",
        },
      },
    ]);
  });

  it("a plan that becomes valid after one repair goes on to Execution, with goto cleared", async () => {
    const { visited, finalized, result, calls } = await execute(defaultAgent, ({ stage, state }) =>
      stage === "validation"
        ? validation((state.loops?.validation ?? 0) >= 1)
        : { state: {}, message: stage },
    );
    expect(result.ok).toBe(true);
    expect(visited).toEqual([
      "Context",
      "Analyzing",
      "Planning",
      "Validation",
      "Planning",
      "Validation",
      "Execution",
      "Memory",
    ]);
    expect(finalized).toEqual([]);
    expect(calls.find((c) => c.state === "Execution")?.input.state).toEqual({ loops: { validation: 1 } });
  });

  it("a custom agent loops as its definition says (max 3), and a last stage that loops can also end", async () => {
    let reviews = 0;
    const looped = await execute(reviewer, ({ stage }) =>
      stage === "review" && ++reviews <= 2
        ? { state: {}, message: "again", goto: "draft" }
        : { state: {}, message: stage },
    );
    expect(looped.result.ok).toBe(true);
    expect(looped.visited).toEqual(["Draft", "Review", "Draft", "Review", "Draft", "Review", "Publish"]);

    const rejected = await execute(reviewer, ({ stage }) =>
      stage === "review" ? { state: {}, message: "again", goto: "draft" } : { state: {}, message: stage },
    );
    expect(rejected.result.ok).toBe(false);
    expect(rejected.visited.filter((s) => s === "Draft")).toHaveLength(4);
    expect(rejected.finalized).toMatchObject([
      { error: { Error: "LoopExhausted", Code: "review_rejected" } },
    ]);

    let checks = 0;
    const last = await execute(lastLoops, ({ stage }) =>
      stage === "check" && ++checks === 1
        ? { state: {}, message: "again", goto: "write" }
        : { state: {}, message: stage },
    );
    expect(last.result.ok).toBe(true);
    expect(last.visited).toEqual(["Write", "Check", "Write", "Check"]);
  });

  it("a transient stage error is retried; a persistent one ends in Finalize and a failed execution", async () => {
    let analyzingTries = 0;
    const retried = await execute(defaultAgent, ({ stage }) => {
      if (stage === "analyzing" && ++analyzingTries === 1) {
        throw Object.assign(new Error("model busy"), { name: "TransientStageError" });
      }
      return stage === "validation" ? validation(true) : { state: {}, message: stage };
    });
    expect(retried.result.ok).toBe(true);
    expect(retried.visited.filter((s) => s === "Analyzing")).toHaveLength(2);

    const failed = await execute(defaultAgent, ({ stage }) => {
      if (stage === "execution") throw Object.assign(new Error("bad input"), { name: "StageFailedError" });
      return stage === "validation" ? validation(true) : { state: {}, message: stage };
    });
    expect(failed.result.ok).toBe(false);
    // Not transient: tried once, no Memory, Finalize told why.
    expect(failed.visited.filter((s) => s === "Execution")).toHaveLength(1);
    expect(failed.visited).not.toContain("Memory");
    expect(failed.finalized).toEqual([
      { runId: "01J00000000000000000000000", error: { Error: "StageFailedError", Cause: "bad input" } },
    ]);
  });

  it("a stage with retries 0 is not retried even for a transient error", async () => {
    const { visited, result } = await execute(reviewer, ({ stage }) => {
      if (stage === "publish") throw Object.assign(new Error("busy"), { name: "TransientStageError" });
      return { state: {}, message: stage };
    });
    expect(result.ok).toBe(false);
    expect(visited.filter((s) => s === "Publish")).toHaveLength(1);
  });
});
