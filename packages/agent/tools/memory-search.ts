import { z } from "zod";
import { defineTool } from "./define-tool.ts";

/** How many of the project's newest memories are searched. */
export const MEMORY_SEARCH_SCAN = 50;

const words = (text: string): Set<string> =>
  new Set(
    (text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []).filter(
      (w) => !["the", "and", "what", "did"].includes(w),
    ),
  );

/**
 * `memory_search`: finds the project's memory items (summaries written by earlier runs) that
 * share the most words with the query; with an empty query, the newest ones.
 */
export const memorySearchTool = defineTool({
  name: "memory_search",
  description:
    "Search what earlier runs of this project remembered (their summaries). Use it when the request refers to earlier work or conversations.",
  input: z.object({
    query: z.string().max(500),
    limit: z.number().int().min(1).max(10).nullable().default(null),
  }),
  timeoutMs: 5000,
  run: async ({ query, limit }, ctx) => {
    if (!ctx.projectId)
      return { matches: [], note: "This run has no projectId, so there is no memory to search." };
    const items = await ctx.store.memories.list(ctx.projectId, MEMORY_SEARCH_SCAN, ctx.owner);
    const q = words(query);
    const scored = items
      .map((item, index) => ({ item, index, score: [...words(item.summary)].filter((w) => q.has(w)).length }))
      .filter((s) => q.size === 0 || s.score > 0)
      .sort((a, b) => b.score - a.score || a.index - b.index);
    const picked = (
      scored.length > 0 ? scored : items.map((item, index) => ({ item, index, score: 0 }))
    ).slice(0, limit ?? 3);
    return { matches: picked.map(({ item }) => ({ ts: item.ts, runId: item.runId, summary: item.summary })) };
  },
});
