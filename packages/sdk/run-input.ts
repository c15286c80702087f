import { type StageContext, StageFailedError } from "../agent/index.ts";

/**
 * What the run was asked: the run's input as POST /runs (or a trigger) gave it. `params` are
 * the request's named values (at most 20; strings of at most 1,000 characters, numbers,
 * booleans), absent when the request had none.
 */
export interface RunInput {
  question: string;
  projectId?: string;
  conversationId?: string;
  params?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The run's input and owner: from the run state once a stage carried them, else (the first
 * stage) from the run item, read once.
 * @throws StageFailedError `run_not_found` when the run item is gone.
 */
export async function readRunInput(ctx: StageContext): Promise<{ input: RunInput; owner?: string }> {
  const carried = ctx.state.question === undefined ? undefined : ctx.state;
  const source = carried ?? (await ctx.store.runs.get(ctx.runId));
  if (!source) throw new StageFailedError("run_not_found", "The run no longer exists.");
  const { question = "", projectId, conversationId, params, owner } = source;
  return {
    input: {
      question,
      ...(projectId ? { projectId } : {}),
      ...(conversationId ? { conversationId } : {}),
      ...(params ? { params } : {}),
    },
    ...(owner ? { owner } : {}),
  };
}
