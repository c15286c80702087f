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

/**
 * The user message every model stage starts from: `Request: <question>` first (the offline
 * model and humans both look for it), then what context loaded.
 */
export function requestBlock(state: RunState): string {
  const lines = [`Request: ${requireQuestion(state)}`];
  const memories = state.memories ?? [];
  if (memories.length)
    lines.push("", "What earlier runs of this project remembered:", ...memories.map((m) => `- ${m}`));
  const turns = state.turns ?? [];
  if (turns.length) {
    lines.push(
      "",
      "Earlier turns of this conversation:",
      ...turns.map((t) => `- Q: ${t.question}\n  A: ${t.answer}`),
    );
  }
  if (state.analysis) lines.push("", `Analysis: ${JSON.stringify(state.analysis)}`);
  return lines.join("\n");
}
