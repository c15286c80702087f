import { StageFailedError } from "../errors.ts";
import type { StageImpl } from "../stage-context.ts";

/** How many project memories the context stage loads (newest first). */
export const MEMORY_LIMIT = 5;

/**
 * context: loads the run's input from the run item and the project's newest memories
 * (written by earlier runs' memory stage), so later stages see them.
 * @throws StageFailedError `run_not_found` when the run item is gone.
 */
export const contextStage: StageImpl = async (ctx) => {
  const run = await ctx.store.getRun(ctx.runId);
  if (!run) throw new StageFailedError("run_not_found", "The run no longer exists.");
  const memories = run.projectId ? await ctx.store.listMemories(run.projectId, MEMORY_LIMIT) : [];
  const summaries = memories.map((m) => m.summary);
  const loaded = `${summaries.length} ${summaries.length === 1 ? "memory" : "memories"}`;
  await ctx.progress(`Loaded the question (${run.question.length} characters) and ${loaded}.`, {
    questionChars: run.question.length,
    memories: summaries.length,
    ...(run.projectId ? { projectId: run.projectId } : {}),
  });
  return {
    state: {
      question: run.question,
      ...(run.projectId ? { projectId: run.projectId } : {}),
      memories: summaries,
    },
    message: `Context ready: ${loaded}.`,
    data: { memories: summaries.length },
  };
};
