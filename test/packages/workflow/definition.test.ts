import { createRequire } from "node:module";
import { type RunOptions, StateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { STAGES, type Stage } from "../../../packages/events/index.ts";
import {
  buildDefinition,
  DEFAULT_STAGE_TIMEOUTS,
  definitionJson,
  executionInput,
  MAX_PLAN_REPAIRS,
  stateName,
  TRANSIENT_ERRORS,
  type WorkflowArns,
} from "../../../packages/workflow/index.ts";

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
}

/** The definition as Step Functions receives it (the JSON string parsed back). */
function definition(options?: Parameters<typeof buildDefinition>[1]) {
  return JSON.parse(definitionJson(arns, options)) as {
    StartAt: string;
    TimeoutSeconds?: number;
    States: Record<string, AnyState>;
  };
}

function validate(def: unknown) {
  // The validator annotates the object it checks: give it a copy.
  return aslValidator(structuredClone(def));
}

const stageStates = STAGES.map(stateName);

describe("ASL definition", () => {
  it("is valid Amazon States Language (asl-validator, paths and ARNs checked)", () => {
    const result = validate(definition());
    expect(result.errors, result.isValid ? "" : result.errorsText("\n")).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it("stays valid with custom options", () => {
    const result = validate(
      definition({ stageTimeoutSeconds: { execution: 600 }, executionTimeoutSeconds: 1800, maxRetries: 5 }),
    );
    expect(result.isValid, result.errorsText("\n")).toBe(true);
  });

  it("the validator does catch a broken definition (sanity check of the check)", () => {
    const broken = definition();
    const validation = broken.States.Validation;
    if (validation) validation.Next = "NoSuchState";
    expect(validate(broken).isValid).toBe(false);
  });

  it("buildDefinition and definitionJson agree", () => {
    expect(JSON.parse(definitionJson(arns))).toEqual(JSON.parse(JSON.stringify(buildDefinition(arns))));
  });

  it("names the states after the stages", () => {
    expect(stageStates).toEqual(["Context", "Analyzing", "Planning", "Validation", "Execution", "Memory"]);
  });

  it("every Task has a positive TimeoutSeconds and a Retry on the transient errors", () => {
    const { States } = definition();
    const tasks = Object.entries(States).filter(([, s]) => s.Type === "Task");
    expect(tasks.map(([n]) => n).sort()).toEqual([...stageStates, "Finalize"].sort());
    for (const [name, state] of tasks) {
      expect(Number.isInteger(state.TimeoutSeconds), name).toBe(true);
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      expect(state.Retry?.length, name).toBeGreaterThan(0);
      const retried = new Set(state.Retry?.flatMap((r) => r.ErrorEquals));
      for (const e of TRANSIENT_ERRORS) expect(retried.has(e), `${name} retries ${e}`).toBe(true);
      expect(retried.has("States.ALL"), `${name} must not retry everything`).toBe(false);
    }
  });

  it("stage Tasks call the stage function with their timeout; Finalize calls the finalize function", () => {
    const { States } = definition({ stageTimeoutSeconds: { planning: 42 } });
    for (const stage of STAGES) {
      const state = States[stateName(stage)];
      expect(state?.Resource).toBe(arns.stageFunctionArn);
      expect(state?.Parameters).toMatchObject({ "runId.$": "$.runId", stage, "state.$": "$.state" });
      expect(state?.TimeoutSeconds).toBe(stage === "planning" ? 42 : DEFAULT_STAGE_TIMEOUTS[stage]);
    }
    expect(States.Finalize?.Resource).toBe(arns.finalizeFunctionArn);
  });

  it("every Task except Finalize catches States.ALL into Finalize; Finalize has no Catch", () => {
    const { States } = definition();
    for (const name of stageStates) {
      const catches = States[name]?.Catch ?? [];
      const all = catches.find((c) => c.ErrorEquals.includes("States.ALL"));
      expect(all, name).toBeDefined();
      expect(all?.Next, name).toBe("Finalize");
      // The error must not overwrite the run id Finalize needs.
      expect(all?.ResultPath, name).toBe("$.error");
    }
    expect(States.Finalize?.Catch).toBeUndefined();
    expect(States.Finalize?.Next).toBe("Failed");
    expect(States.Failed?.Type).toBe("Fail");
  });

  it("visits the stages in order Context → Analyzing → Planning → Validation → PlanVerdict → Execution → Memory", () => {
    const def = definition();
    const path: string[] = [];
    let current: string | undefined = def.StartAt;
    while (current !== undefined && path.length < 20) {
      path.push(current);
      const state: AnyState | undefined = def.States[current];
      if (!state || state.End) break;
      if (state.Type === "Choice") {
        current = state.Choices?.find(
          (c) => c.Variable === "$.state.planValid" && c.BooleanEquals === true,
        )?.Next;
      } else {
        current = state.Next;
      }
    }
    expect(path).toEqual([
      "Context",
      "Analyzing",
      "Planning",
      "Validation",
      "PlanVerdict",
      "Execution",
      "Memory",
    ]);
    expect(def.States.Memory?.End).toBe(true);
  });

  it("the Choice sends an invalid plan back to Planning while repairs <= MAX_PLAN_REPAIRS, else rejects it", () => {
    const { States } = definition();
    const choice = States.PlanVerdict;
    expect(choice?.Type).toBe("Choice");
    const toPlanning = choice?.Choices?.find((c) => c.Next === "Planning");
    expect(toPlanning).toEqual({
      Variable: "$.state.repairs",
      NumericLessThanEquals: MAX_PLAN_REPAIRS,
      Next: "Planning",
    });
    // The valid-plan rule comes first, so a valid plan never loops.
    expect(choice?.Choices?.[0]).toEqual({
      Variable: "$.state.planValid",
      BooleanEquals: true,
      Next: "Execution",
    });
    expect(choice?.Default).toBe("PlanRejected");
    expect(States.PlanRejected?.Next).toBe("Finalize");
  });

  it("uses the overall execution timeout", () => {
    expect(definition().TimeoutSeconds).toBeGreaterThan(0);
    expect(definition({ executionTimeoutSeconds: 1234 }).TimeoutSeconds).toBe(1234);
  });
});

type StageInput = { runId: string; stage: Stage; state: Record<string, unknown> };

/** Run the definition in aws-local-stepfunctions with the Tasks mapped to in-process fakes. */
async function execute(stage: (input: StageInput) => unknown) {
  const calls: Array<{ state: string; input: unknown }> = [];
  const finalized: unknown[] = [];
  const handlers: LocalHandlers = {};
  for (const s of STAGES) {
    handlers[stateName(s)] = async (input) => {
      calls.push({ state: stateName(s), input });
      return (await stage(input as unknown as StageInput)) as JSONValue;
    };
  }
  handlers.Finalize = (input) => {
    finalized.push(input);
    return null;
  };
  const machine = new StateMachine(
    buildDefinition(arns, { maxRetries: 2 }) as unknown as StateMachineDefinition,
  );
  const retryIntervalOverrides = Object.fromEntries([...stageStates, "Finalize"].map((n) => [n, 0]));
  const run = machine.run(executionInput("01J00000000000000000000000") as unknown as ExecutionInput, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
  });
  const outcome = await run.result.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return { calls, finalized, outcome, visited: calls.map((c) => c.state) };
}

describe("ASL definition, executed", () => {
  it("a valid plan runs the six stages once each, in order, passing state along", async () => {
    const { visited, finalized, outcome, calls } = await execute(({ stage, state }) => ({
      ...state,
      [stage]: true,
      ...(stage === "validation" ? { planValid: true } : {}),
    }));
    expect(outcome.ok).toBe(true);
    expect(visited).toEqual(stageStates);
    expect(finalized).toEqual([]);
    expect(calls[0]?.input).toEqual({ runId: "01J00000000000000000000000", stage: "context", state: {} });
    expect(calls.at(-1)?.input).toMatchObject({
      stage: "memory",
      state: { context: true, analyzing: true, planning: true, validation: true, execution: true },
    });
  });

  it(`an always-invalid plan is repaired exactly MAX_PLAN_REPAIRS (${MAX_PLAN_REPAIRS}) times, then Finalize gets PlanInvalid`, async () => {
    // Like the real validation stage: an invalid plan increments state.repairs.
    const { visited, finalized, outcome } = await execute(({ stage, state }) =>
      stage === "validation"
        ? { ...state, planValid: false, repairs: ((state.repairs as number | undefined) ?? 0) + 1 }
        : state,
    );
    expect(outcome.ok).toBe(false);
    const planning = visited.filter((s) => s === "Planning").length;
    expect(planning).toBe(1 + MAX_PLAN_REPAIRS);
    expect(visited).not.toContain("Execution");
    expect(finalized).toHaveLength(1);
    expect(finalized[0]).toMatchObject({
      runId: "01J00000000000000000000000",
      error: { Error: "PlanInvalid" },
    });
  });

  it("a plan that becomes valid after one repair goes on to Execution", async () => {
    const { visited, finalized, outcome } = await execute(({ stage, state }) => {
      if (stage !== "validation") return state;
      const repairs = (state.repairs as number | undefined) ?? 0;
      return repairs >= 1
        ? { ...state, planValid: true }
        : { ...state, planValid: false, repairs: repairs + 1 };
    });
    expect(outcome.ok).toBe(true);
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
  });

  it("a transient stage error is retried; a persistent one ends in Finalize and a failed execution", async () => {
    let analyzingTries = 0;
    const retried = await execute(({ stage, state }) => {
      if (stage === "analyzing" && ++analyzingTries === 1) {
        throw Object.assign(new Error("model busy"), { name: "TransientStageError" });
      }
      return stage === "validation" ? { ...state, planValid: true } : state;
    });
    expect(retried.outcome.ok).toBe(true);
    expect(retried.visited.filter((s) => s === "Analyzing")).toHaveLength(2);

    const failed = await execute(({ stage, state }) => {
      if (stage === "execution") throw Object.assign(new Error("bad input"), { name: "StageFailedError" });
      return stage === "validation" ? { ...state, planValid: true } : state;
    });
    expect(failed.outcome.ok).toBe(false);
    // Not transient: tried once, no Memory, Finalize told why.
    expect(failed.visited.filter((s) => s === "Execution")).toHaveLength(1);
    expect(failed.visited).not.toContain("Memory");
    expect(failed.finalized).toEqual([
      { runId: "01J00000000000000000000000", error: { Error: "StageFailedError", Cause: "bad input" } },
    ]);
  });
});
