import type { Agent } from "./agent-definition.ts";
import { StageFailedError } from "./errors.ts";
import type { RunState } from "./run-state.ts";
import type { StageOutcome } from "./stage-context.ts";

/**
 * The run state after `stage` completed with `outcome`: the stage's state changes, and the loop
 * fields, which the runner owns (a stage's own `goto` / `loops` in its state changes are
 * dropped, so no stage can skip or reset another's count).
 * - No `outcome.goto`: `goto` is cleared, so the `<Stage>Loop` Choice after a looping stage
 *   goes on to the next stage; `loops` is kept.
 * - `outcome.goto` equal to the stage's `loop.to`: `goto` is set and `loops[stage]` counts one
 *   more; the Choice goes back while the count is at most `loop.max`, else the run fails with
 *   the loop's `exhausted` error (packages/workflow, buildDefinition).
 * @throws StageFailedError `invalid_goto` when the stage has no loop, or its loop goes elsewhere.
 */
export function applyOutcome(agent: Agent, stage: string, state: RunState, outcome: StageOutcome): RunState {
  const { goto: _cleared, loops, ...rest } = { ...state, ...outcome.state, loops: state.loops };
  if (outcome.goto === undefined) return loops ? { ...rest, loops } : rest;
  const loop = agent.stage(stage)?.loop;
  if (!loop || outcome.goto !== loop.to) {
    // The requested name is not echoed: the message is shown to clients as is.
    throw new StageFailedError(
      "invalid_goto",
      `The ${stage} stage asked to go back to a stage its definition does not loop to.`,
    );
  }
  return { ...rest, goto: loop.to, loops: { ...loops, [stage]: (loops?.[stage] ?? 0) + 1 } };
}
