import type { StageHandler } from "../sdk/index.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";

/** Most project memories loaded (newest first). */
export const MEMORY_LIMIT = 5;
/** Most characters of memory text loaded in all; older memories beyond it are left out. */
export const MEMORY_MAX_CHARS = 2000;
/** Most earlier conversation turns loaded. */
export const TURN_LIMIT = 5;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * context: loads the project's newest memories (bounded by {@link MEMORY_LIMIT} and
 * {@link MEMORY_MAX_CHARS}) and the conversation's recent turns ({@link TURN_LIMIT}).
 */
export const contextStage: StageHandler<DefaultAgentOutputs, "context"> = async (ctx) => {
  const [memories, turns] = await Promise.all([
    ctx.memory.list({ limit: MEMORY_LIMIT, maxChars: MEMORY_MAX_CHARS }),
    ctx.conversation.turns(TURN_LIMIT),
  ]);
  const loaded = `${plural(memories.length, "memory", "memories")}, ${plural(turns.length, "earlier turn", "earlier turns")}`;
  const { projectId, conversationId } = ctx.input;
  await ctx.progress(50, `Loaded ${loaded}.`, {
    questionChars: ctx.input.question.length,
    memories,
    turns: turns.length,
    ...(projectId ? { projectId } : {}),
    ...(conversationId ? { conversationId } : {}),
  });
  ctx.summary(`Context ready: ${loaded}.`, { memories: memories.length, turns: turns.length });
  return { memories, turns };
};
