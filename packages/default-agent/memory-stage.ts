import type { StageHandler } from "../sdk/index.ts";
import type { DefaultAgentOutputs } from "./outputs.ts";
import type { DefaultAgentPrompts } from "./prompts.ts";

/**
 * memory: the model summarises the exchange; with a projectId the summary becomes a project
 * memory (with TTL) that the next run's context stage and memory_search find; with a
 * conversationId the turn (question, clipped answer) is kept for the next turn. A run that
 * ended meanwhile (cancelled) keeps neither: saving throws RunFinishedError.
 */
export function memoryStage(prompts: DefaultAgentPrompts): StageHandler<DefaultAgentOutputs, "memory"> {
  return async (ctx) => {
    const { question } = ctx.input;
    const answer = ctx.outputs.execution?.answer ?? "";
    const text = await ctx.model.complete(
      [
        { role: "system", content: prompts.summarize },
        { role: "user", content: `Request: ${question}\nAnswer: ${answer}` },
      ],
      { maxTokens: 120 },
    );
    const summary = text.trim();
    const saved = await ctx.memory.save(summary);
    const turnSaved = await ctx.conversation.save({ question, answer });
    const said = saved
      ? `Saved a memory for project ${ctx.memory.projectId}.`
      : "No project given: the summary is not kept.";
    await ctx.progress(90, said, { summary, saved, turnSaved });
    ctx.summary(said, { saved, turnSaved });
    return { summary, saved, turnSaved };
  };
}
