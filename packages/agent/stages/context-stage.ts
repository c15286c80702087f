import { StageFailedError } from "../errors.ts";
import type { StageImpl } from "../stage-context.ts";

/** Most project memories loaded (newest first). */
export const MEMORY_LIMIT = 5;
/** Most characters of memory text loaded in all; older memories beyond it are left out. */
export const MEMORY_MAX_CHARS = 2000;
/** Most earlier conversation turns loaded. */
export const TURN_LIMIT = 5;

/** Keep items (newest first) while their total length stays within `maxChars`. */
export function withinBudget(items: readonly string[], maxChars: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (const item of items) {
    if (used + item.length > maxChars) break;
    kept.push(item);
    used += item.length;
  }
  return kept;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * context: loads the run's input, the project's newest memories (bounded by
 * {@link MEMORY_LIMIT} and {@link MEMORY_MAX_CHARS}) and the conversation's recent turns.
 * @throws StageFailedError `run_not_found` when the run item is gone.
 */
export const contextStage: StageImpl = async (ctx) => {
  const run = await ctx.store.runs.get(ctx.runId);
  if (!run) throw new StageFailedError("run_not_found", "The run no longer exists.");
  const [memoryItems, turnItems] = await Promise.all([
    run.projectId ? ctx.store.memories.list(run.projectId, MEMORY_LIMIT, run.owner) : [],
    run.conversationId ? ctx.store.conversations.list(run.conversationId, TURN_LIMIT, run.owner) : [],
  ]);
  const memories = withinBudget(
    memoryItems.map((m) => m.summary),
    MEMORY_MAX_CHARS,
  );
  const turns = turnItems
    .filter((t) => t.runId !== ctx.runId)
    .map(({ question, answer }) => ({ question, answer }));
  const loaded = `${plural(memories.length, "memory", "memories")}, ${plural(turns.length, "earlier turn", "earlier turns")}`;
  await ctx.progress(`Loaded ${loaded}.`, {
    questionChars: run.question.length,
    memories,
    turns: turns.length,
    ...(run.projectId ? { projectId: run.projectId } : {}),
    ...(run.conversationId ? { conversationId: run.conversationId } : {}),
  });
  return {
    state: {
      question: run.question,
      owner: run.owner,
      ...(run.projectId ? { projectId: run.projectId } : {}),
      ...(run.conversationId ? { conversationId: run.conversationId } : {}),
      memories,
      turns,
    },
    message: `Context ready: ${loaded}.`,
    data: { memories: memories.length, turns: turns.length },
  };
};
