import { isTerminalType } from "../../events/index.ts";
import { ANONYMOUS, RunFinishedError } from "../../store/index.ts";
import { chat } from "../model-client.ts";
import type { StageImpl } from "../stage-context.ts";
import { requireQuestion } from "./prompt.ts";

/** Instruction for the memory call. */
export const SUMMARIZE_PROMPT = "Summarize this exchange in one sentence that will help future runs.";

/** Longest answer kept in a conversation turn (characters). */
export const TURN_ANSWER_CHARS = 1000;

/**
 * memory: the model summarises the exchange; with a projectId the summary is stored as a
 * project memory item (with TTL) that the next run's context stage and memory_search find;
 * with a conversationId the turn (question, clipped answer) is stored for the next turn.
 */
export const memoryStage: StageImpl = async (ctx) => {
  const question = requireQuestion(ctx.state);
  const answer = ctx.state.answer ?? "";
  const out = await ctx.model.complete({
    messages: chat(SUMMARIZE_PROMPT, `Request: ${question}\nAnswer: ${answer}`),
    maxTokens: 120,
    signal: ctx.signal,
  });
  ctx.recordUsage(out.model, out.usage);
  const summary = out.text.trim();
  // Keyed by the run's start, not "now": a retried memory stage overwrites its own items
  // instead of adding duplicates.
  const ts = ctx.state.startedAt ?? new Date(ctx.store.table.now()).toISOString();
  const { projectId, conversationId } = ctx.state;
  // A cancelled run must not become memory or conversation context for later runs: these items
  // are outside the run's log, so its refusal after the terminal event does not cover them.
  ctx.signal.throwIfAborted();
  const last = await ctx.store.events.last(ctx.runId);
  if (last && isTerminalType(last.type)) throw new RunFinishedError(ctx.runId, last.type);
  const owner = ctx.state.owner ?? ANONYMOUS;
  if (projectId) await ctx.store.memories.put({ projectId, owner, runId: ctx.runId, ts, summary });
  if (conversationId) {
    await ctx.store.conversations.put({
      conversationId,
      owner,
      runId: ctx.runId,
      ts,
      question,
      answer: answer.slice(0, TURN_ANSWER_CHARS),
    });
  }
  const said = projectId
    ? `Saved a memory for project ${projectId}.`
    : "No project given: the summary is not kept.";
  await ctx.progress(said, { summary, saved: Boolean(projectId), turnSaved: Boolean(conversationId) }, 0.9);
  return {
    state: {},
    message: said,
    data: { saved: Boolean(projectId), turnSaved: Boolean(conversationId) },
  };
};
