import { describe, expect, it } from "vitest";
import { StageFailedError } from "../../../packages/agent/errors.ts";
import { checkAgent, type StageImpl } from "../../../packages/agent/index.ts";
import { applyOutcome } from "../../../packages/agent/stage-loop.ts";

const run: StageImpl = async () => ({ state: {}, message: "done" });
const agent = checkAgent({
  name: "reviewer",
  stages: [
    { name: "draft", run },
    {
      name: "review",
      run,
      loop: { to: "draft", max: 2, exhausted: { code: "rejected", message: "Rejected." } },
    },
    { name: "publish", run },
  ],
});

describe("applyOutcome (the runner's loop bookkeeping)", () => {
  it("merges the stage's state changes and clears goto when the stage does not ask to loop", () => {
    const next = applyOutcome(
      agent,
      "review",
      { question: "q", goto: "draft", loops: { review: 1 } },
      {
        state: { answer: "a" },
        message: "ok",
      },
    );
    expect(next).toEqual({ question: "q", answer: "a", loops: { review: 1 } });
    expect(applyOutcome(agent, "draft", { question: "q" }, { state: {}, message: "ok" })).toEqual({
      question: "q",
    });
  });

  it("sets goto and counts the loop when the stage asks for its loop's target", () => {
    const once = applyOutcome(agent, "review", {}, { state: {}, message: "again", goto: "draft" });
    expect(once).toEqual({ goto: "draft", loops: { review: 1 } });
    const twice = applyOutcome(
      agent,
      "review",
      { ...once, loops: { review: 1, other: 4 } },
      {
        state: {},
        message: "again",
        goto: "draft",
      },
    );
    expect(twice).toEqual({ goto: "draft", loops: { review: 2, other: 4 } });
  });

  it("ignores goto and loops a stage puts in its state changes: counting is the runner's", () => {
    const sneaky = { state: { goto: "draft", loops: { review: 0 } } as never, message: "ok" };
    expect(applyOutcome(agent, "review", { loops: { review: 2 } }, sneaky)).toEqual({ loops: { review: 2 } });
  });

  it.each([
    ["a stage without a loop", "draft", "draft"],
    ["a target other than the loop's", "review", "publish"],
    ["the stage itself", "review", "review"],
  ])("refuses goto from %s with StageFailedError invalid_goto", (_label, stage, goto) => {
    const attempt = () => applyOutcome(agent, stage, {}, { state: {}, message: "x", goto });
    expect(attempt).toThrow(StageFailedError);
    expect(attempt).toThrow(/does not loop to/);
    try {
      attempt();
    } catch (err) {
      expect((err as StageFailedError).code).toBe("invalid_goto");
      // The requested name is not echoed into the client-visible message.
      expect((err as Error).message).not.toContain(`to ${goto}`);
    }
  });
});
