import type { z } from "zod";
import { StageFailedError } from "../errors.ts";
import { chat, ModelOutputError, type ModelResult } from "../model-client.ts";
import type { StageContext } from "../stage-context.ts";

/**
 * Ask the stage's model for a structured output, with one repair: if the reply does not match
 * the schema, ask again with what was wrong.
 * @throws StageFailedError `model_output_invalid` when the repaired reply still does not match
 *   (permanent: the workflow's Catch ends the run).
 */
export async function structuredCall<S extends z.ZodType>(
  ctx: StageContext,
  schema: S,
  name: string,
  system: string,
  user: string,
  maxTokens: number,
): Promise<ModelResult & { value: z.infer<S> }> {
  const messages = chat(system, user);
  try {
    const out = await ctx.model.parse(schema, name, { messages, maxTokens, signal: ctx.signal });
    ctx.recordUsage(out.model, out.usage);
    return out;
  } catch (err) {
    if (!(err instanceof ModelOutputError)) throw err;
    // The error text may quote the SDK or the model: it goes to the repair prompt, not to the event.
    await ctx.progress(`The model's ${name} did not match the schema; asking again.`, { repair: true }, 0.5);
    const repair = [
      ...messages,
      {
        role: "user" as const,
        content: `Your previous reply was not valid: ${err.message}. Reply again with JSON for ${name}.`,
      },
    ];
    try {
      const out = await ctx.model.parse(schema, name, { messages: repair, maxTokens, signal: ctx.signal });
      ctx.recordUsage(out.model, out.usage);
      return out;
    } catch (again) {
      if (!(again instanceof ModelOutputError)) throw again;
      throw new StageFailedError(
        "model_output_invalid",
        `The model's ${name} did not match the expected format.`,
        {
          cause: again,
        },
      );
    }
  }
}
