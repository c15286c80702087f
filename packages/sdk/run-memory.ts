import type { StageContext } from "../agent/index.ts";
import { isTerminalType } from "../events/index.ts";
import { ANONYMOUS, RunFinishedError } from "../store/index.ts";

/** Most items one `list` or `turns` call reads: the store query's page stays small. */
export const MAX_RECALL_ITEMS = 20;
/** Longest answer kept in a saved conversation turn (characters): later prompts stay bounded. */
export const TURN_ANSWER_CHARS = 1000;
/** Longest memory summary kept (characters). */
export const MEMORY_SUMMARY_CHARS = 1000;

/**
 * The project's memory: one-sentence summaries that earlier runs of the same project (and the
 * same owner) saved, kept with a TTL. Without a `projectId` in the run's input it is empty and
 * `save` keeps nothing.
 */
export interface ProjectMemory {
  /** The run's project, if it has one. */
  readonly projectId: string | undefined;
  /**
   * The newest summaries first: at most `limit` (default 5, at most {@link MAX_RECALL_ITEMS}),
   * and while their total stays within `maxChars` characters (default 2,000).
   */
  list(options?: { limit?: number; maxChars?: number }): Promise<string[]>;
  /**
   * Save a summary of this run (clipped to {@link MEMORY_SUMMARY_CHARS}); resolves false when
   * the run has no project. Saving again (a retried stage) replaces this run's summary.
   * @throws RunFinishedError when the run has already ended (a cancelled run leaves no memory).
   */
  save(summary: string): Promise<boolean>;
}

/** One earlier turn of the conversation (a type, not an interface, so it is a {@link Json} object). */
export type ConversationTurn = {
  question: string;
  answer: string;
};

/** The run's conversation: earlier turns with the same `conversationId` (and owner). */
export interface ConversationHistory {
  /** The run's conversation, if it has one. */
  readonly conversationId: string | undefined;
  /** The most recent earlier turns, oldest first: at most `limit` (default 5, at most {@link MAX_RECALL_ITEMS}); this run's own turn is left out. */
  turns(limit?: number): Promise<ConversationTurn[]>;
  /**
   * Save this run's turn (its answer clipped to {@link TURN_ANSWER_CHARS}); resolves false
   * without a conversation. Saving again replaces this run's turn.
   * @throws RunFinishedError when the run has already ended.
   */
  save(turn: ConversationTurn): Promise<boolean>;
}

/** Keep items (newest first) while their total length stays within `maxChars`. */
function withinBudget(items: readonly string[], maxChars: number): string[] {
  const kept: string[] = [];
  let used = 0;
  for (const item of items) {
    if (used + item.length > maxChars) break;
    kept.push(item);
    used += item.length;
  }
  return kept;
}

const bounded = (limit: number | undefined, fallback: number) =>
  Math.max(0, Math.min(MAX_RECALL_ITEMS, Math.floor(limit ?? fallback)));

/**
 * What saving needs: the run's owner and start (items are keyed by the run's start, not "now",
 * so a retried stage overwrites its own items), and the refusal once the run has ended — these
 * items live outside the run's log, so the log's own refusal after its terminal event does not
 * cover them.
 */
async function savedItemKey(ctx: StageContext): Promise<{ owner: string; runId: string; ts: string }> {
  ctx.signal.throwIfAborted();
  const last = await ctx.store.events.last(ctx.runId);
  if (last && isTerminalType(last.type)) throw new RunFinishedError(ctx.runId, last.type);
  return {
    owner: ctx.state.owner ?? ANONYMOUS,
    runId: ctx.runId,
    ts: ctx.state.startedAt ?? new Date(ctx.store.table.now()).toISOString(),
  };
}

/** The run's project memory over the store. */
export function projectMemory(ctx: StageContext, projectId: string | undefined): ProjectMemory {
  return {
    projectId,
    async list({ limit, maxChars = 2000 } = {}) {
      const n = bounded(limit, 5);
      if (!projectId || n === 0) return [];
      const items = await ctx.store.memories.list(projectId, n, ctx.state.owner);
      return withinBudget(
        items.map((m) => m.summary),
        maxChars,
      );
    },
    async save(summary) {
      if (!projectId) return false;
      const key = await savedItemKey(ctx);
      await ctx.store.memories.put({ projectId, ...key, summary: summary.slice(0, MEMORY_SUMMARY_CHARS) });
      return true;
    },
  };
}

/** The run's conversation history over the store. */
export function conversationHistory(
  ctx: StageContext,
  conversationId: string | undefined,
): ConversationHistory {
  return {
    conversationId,
    async turns(limit) {
      const n = bounded(limit, 5);
      if (!conversationId || n === 0) return [];
      const items = await ctx.store.conversations.list(conversationId, n, ctx.state.owner);
      return items.filter((t) => t.runId !== ctx.runId).map(({ question, answer }) => ({ question, answer }));
    },
    async save({ question, answer }) {
      if (!conversationId) return false;
      const key = await savedItemKey(ctx);
      await ctx.store.conversations.put({
        conversationId,
        ...key,
        question,
        answer: answer.slice(0, TURN_ANSWER_CHARS),
      });
      return true;
    },
  };
}
