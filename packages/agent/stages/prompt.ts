import { StageFailedError } from "../errors.ts";
import type { RunState } from "../run-state.ts";

/**
 * The question from the run state.
 * @throws StageFailedError `invalid_state` when the context stage did not run first.
 */
export function requireQuestion(state: RunState): string {
  if (!state.question) throw new StageFailedError("invalid_state", "The run state has no question.");
  return state.question;
}

/** Project memories as a prompt preamble ("" when there are none). */
export function memoryBlock(state: RunState): string {
  const memories = state.memories ?? [];
  if (memories.length === 0) return "";
  return `What earlier runs of this project learned:\n${memories.map((m) => `- ${m}`).join("\n")}\n\nRequest: `;
}
