import { describe, expect, it } from "vitest";
import { checkAgent } from "../../../packages/agent/agent-definition.ts";
import type { StageImpl } from "../../../packages/agent/stage-context.ts";
import { withStageCode } from "../../../packages/agent/with-stage-code.ts";

const run: StageImpl = async () => ({ state: {}, message: "done" });

describe("withStageCode", () => {
  const agent = checkAgent({
    name: "pair",
    stages: [
      { name: "first", run },
      { name: "second", run },
    ],
  });
  it("replaces code by stage name and refuses a stage the agent lacks", () => {
    const other: StageImpl = async () => ({ state: {}, message: "other" });
    const replaced = withStageCode(agent, { second: other });
    expect(replaced.stage("second")?.run).toBe(other);
    expect(replaced.stage("first")?.run).toBe(run);
    expect(() => withStageCode(agent, { nope: run })).toThrow(/has no stage nope/);
  });
});
