import { describe, expect, it } from "vitest";
import { AgentDefinitionError, checkAgent } from "../../../packages/agent/agent-definition.ts";
import type { StageImpl } from "../../../packages/agent/stage-context.ts";

const run: StageImpl = async () => ({ state: {}, message: "done" });

describe("checkAgent", () => {
  it("applies each stage's defaults (weight 1, 120 s, 2 retries) and finds stages by name", () => {
    const agent = checkAgent({
      name: "k8s-diagnosis",
      stages: [
        { name: "collect", run },
        { name: "explain", weight: 3, run },
      ],
    });
    expect(agent.stages.map(({ run: _run, ...s }) => s)).toEqual([
      { name: "collect", weight: 1, timeoutSeconds: 120, retries: 2 },
      { name: "explain", weight: 3, timeoutSeconds: 120, retries: 2 },
    ]);
    expect(agent.stage("explain")?.weight).toBe(3);
    expect(agent.stage("nope")).toBeUndefined();
  });

  it.each([
    ["a bad agent name", { name: "Bad Name", stages: [{ name: "a", run }] }, /agent name "Bad Name"/],
    ["no stages", { name: "empty", stages: [] }, /needs at least one stage/],
    ["a bad stage name", { name: "x", stages: [{ name: "Collect", run }] }, /stage 1 \("Collect"\)/],
    [
      "a duplicate stage",
      {
        name: "x",
        stages: [
          { name: "a", run },
          { name: "a", run },
        ],
      },
      /stage a is defined twice/,
    ],
    [
      "a run that is not a function",
      { name: "x", stages: [{ name: "a", run: "no" }] },
      /run must be a function/,
    ],
    ["an unknown setting", { name: "x", stages: [{ name: "a", run, timeout: 5 }] }, /stage 1/],
    ["a zero weight", { name: "x", stages: [{ name: "a", run, weight: 0 }] }, /weight/],
    [
      "a loop forward",
      {
        name: "x",
        stages: [
          { name: "a", run, loop: { to: "b", max: 1, exhausted: { code: "gave_up", message: "Gave up." } } },
          { name: "b", run },
        ],
      },
      /loops to b, which is not an earlier stage/,
    ],
    [
      "a loop to itself",
      {
        name: "x",
        stages: [
          { name: "a", run, loop: { to: "a", max: 1, exhausted: { code: "gave_up", message: "Gave up." } } },
        ],
      },
      /loops to a, which is not an earlier stage/,
    ],
    // Capitalised, they would be the state machine's fixed Finalize and Failed states.
    ["the reserved stage name finalize", { name: "x", stages: [{ name: "finalize", run }] }, /reserved/],
    ["the reserved stage name failed", { name: "x", stages: [{ name: "failed", run }] }, /reserved/],
  ])("refuses %s with an AgentDefinitionError naming it", (_label, definition, message) => {
    expect(() => checkAgent(definition as never)).toThrow(AgentDefinitionError);
    expect(() => checkAgent(definition as never)).toThrow(message);
  });
});
