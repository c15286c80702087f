import { defineAgent, defineTool } from "stagecast";
import { z } from "zod";

// A tool: a name, a zod input and a run function. It is loaded from this module, so it must
// not capture per-run state; everything it needs comes in its input.
const wordCount = defineTool({
  name: "word_count",
  description: "Count the words of a text.",
  input: z.object({ text: z.string() }),
  timeoutMs: 1000,
  run: async ({ text }) => ({ words: text.split(/\s+/).filter(Boolean).length }),
});

export default defineAgent({
  name: "minimal",
  tools: [wordCount],
  stages: [
    {
      name: "measure",
      run: async (ctx) => {
        await ctx.progress(10, "Counting the words of the question…");
        const counted = await ctx.tool("word_count", { text: ctx.input.question });
        return { words: counted.ok ? (counted.result as { words: number }).words : 0 };
      },
    },
    {
      name: "answer",
      weight: 3,
      timeoutSeconds: 300,
      run: async (ctx) => {
        const { words } = ctx.outputs.measure as { words: number };
        const text = await ctx.model.stream([
          { role: "system", content: "Answer in two sentences." },
          { role: "user", content: ctx.input.question },
        ]);
        return { answer: `${text}\n\nYour question had ${words} words.` };
      },
    },
  ],
});
