import { defineAgent, type StageHandlerContext } from "stagecast";
import { querySales, type SalesQuery, type SalesTotals } from "./sales.ts";

/**
 * Business insights: a question about the bundled sales data (sales.csv) goes through three
 * stages. `planner` decides which `query_sales` calls answer it, `analyst` runs them and the
 * built-in `calculator` for the growth between quarters, and `writer` has the model write it up
 * and appends the figures, so the tools' results reach the answer as they were computed.
 */

/** What the planner decides: the grouping, the metric, and the queries to run. */
type Plan = {
  groupBy: SalesQuery["groupBy"];
  metric: SalesQuery["metric"];
  /** Compare Q1 with Q2 (growth per group), or total over both quarters. */
  compare: boolean;
  queries: Array<{
    groupBy: SalesQuery["groupBy"];
    metric: SalesQuery["metric"];
    quarter: "Q1" | "Q2" | null;
  }>;
};

/** One group's growth from Q1 to Q2: both totals and the percentage the calculator gave. */
type Growth = { group: string; q1: number; q2: number; growthPct: number };

/** What the analyst found: totals per query (`Q1`, `Q2` or `all`), growth when comparing, the leader. */
type Analysis = {
  groupBy: Plan["groupBy"];
  metric: Plan["metric"];
  totals: Record<string, Record<string, number>>;
  /** Sorted by growth, largest first; empty when the plan does not compare quarters. */
  growth: Growth[];
  /** The group with the largest growth (comparing) or the largest total; null without data. */
  leader: string | null;
};

/**
 * A plan from the question's words: what it groups by (region unless it names products or
 * months), what it measures (units when it speaks of units or volume, else revenue) and whether
 * it compares the quarters (growth, change, Q1 and Q2).
 */
function planFor(question: string): Plan {
  const q = question.toLowerCase();
  const groupBy = /\bproducts?\b/.test(q) ? "product" : /\bmonths?\b|monthly/.test(q) ? "month" : "region";
  const metric = /\bunits?\b|volume|how many .*sold/.test(q) ? "units" : "revenue";
  const compare = /gr[eo]w|growth|change|increase|decrease|declin|q1.*q2|quarter/.test(q);
  const quarters = compare ? (["Q1", "Q2"] as const) : [null];
  return { groupBy, metric, compare, queries: quarters.map((quarter) => ({ groupBy, metric, quarter })) };
}

/** Run one planned query. A failed call (the data file unreadable) throws, which fails the run. */
async function runQuery(ctx: StageHandlerContext, query: Plan["queries"][number]): Promise<SalesTotals> {
  const outcome = await ctx.tool("query_sales", query);
  if (!outcome.ok) throw new Error(`query_sales failed: ${outcome.error.message}`);
  return outcome.result as SalesTotals;
}

/** Growth from `q1` to `q2` in percent, one decimal, computed by the built-in calculator. */
async function growthPct(ctx: StageHandlerContext, q1: number, q2: number): Promise<number> {
  const outcome = await ctx.tool("calculator", { expression: `round((${q2} - ${q1}) / ${q1} * 100, 1)` });
  if (!outcome.ok) throw new Error(`calculator failed: ${outcome.error.message}`);
  return Number((outcome.result as { result: string }).result);
}

/** Growth per group present in both quarters with a non-zero Q1, largest first. */
async function growthOf(ctx: StageHandlerContext, q1: Record<string, number>, q2: Record<string, number>) {
  const growth: Growth[] = [];
  for (const [group, from] of Object.entries(q1)) {
    const to = q2[group];
    if (to === undefined || from === 0) continue;
    growth.push({ group, q1: from, q2: to, growthPct: await growthPct(ctx, from, to) });
  }
  return growth.sort((a, b) => b.growthPct - a.growthPct);
}

/** Run the plan's queries, then the growth per group when it compares quarters. */
async function analyse(ctx: StageHandlerContext, plan: Plan): Promise<Analysis> {
  const totals: Analysis["totals"] = {};
  for (const [i, query] of plan.queries.entries()) {
    await ctx.progress((i / (plan.queries.length + 1)) * 100, `Totalling ${plan.metric} by ${plan.groupBy}…`);
    const result = await runQuery(ctx, query);
    totals[result.quarter] = result.totals;
  }
  let growth: Growth[] = [];
  if (plan.compare) {
    await ctx.progress(70, "Computing the growth from Q1 to Q2…");
    growth = await growthOf(ctx, totals.Q1 ?? {}, totals.Q2 ?? {});
  }
  const all = Object.entries(totals.all ?? {}).sort((a, b) => b[1] - a[1]);
  const leader = (plan.compare ? growth[0]?.group : all[0]?.[0]) ?? null;
  return { groupBy: plan.groupBy, metric: plan.metric, totals, growth, leader };
}

const numberFormat = new Intl.NumberFormat("en-US");

/** `35.3` → `+35.3%`, `-2` → `-2%`. */
const signedPct = (pct: number) => `${pct >= 0 ? "+" : ""}${pct}%`;

/**
 * The figures as lines of text, exactly as the tools computed them: per group its Q1 and Q2
 * totals and growth (comparing), or its total (largest first), then the leader.
 */
function figureLines(analysis: Analysis): string[] {
  const unit = analysis.metric === "revenue" ? "Revenue (USD)" : "Units";
  const lines = analysis.growth.length
    ? analysis.growth.map(
        (g) =>
          `- ${g.group}: ${numberFormat.format(g.q1)} in Q1 → ${numberFormat.format(g.q2)} in Q2 (${signedPct(g.growthPct)})`,
      )
    : Object.entries(analysis.totals.all ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([group, total]) => `- ${group}: ${numberFormat.format(total)}`);
  const lead = analysis.growth[0];
  const leader = lead
    ? `${lead.group} grew the most: ${signedPct(lead.growthPct)}.`
    : `${analysis.leader ?? "No group"} leads.`;
  return [`${unit} by ${analysis.groupBy}, from the sales data:`, ...lines, leader];
}

export default defineAgent({
  name: "business-insights",
  tools: [querySales],
  stages: [
    {
      name: "planner",
      weight: 1,
      run: async (ctx) => {
        await ctx.progress(20, "Reading the question…");
        const plan = planFor(ctx.input.question);
        const what = plan.compare ? "Q1 against Q2" : "both quarters";
        const queries = plan.queries.length === 1 ? "1 query" : `${plan.queries.length} queries`;
        await ctx.progress(90, `Plan: ${plan.metric} by ${plan.groupBy}, ${what} (${queries}).`);
        return { plan };
      },
    },
    {
      name: "analyst",
      weight: 2,
      run: async (ctx) => {
        const { plan } = ctx.outputs.planner as { plan: Plan };
        const analysis = await analyse(ctx, plan);
        await ctx.emit(
          { leader: analysis.leader, growth: analysis.growth, totals: analysis.totals },
          "Key figures",
        );
        return { analysis };
      },
    },
    {
      name: "writer",
      weight: 2,
      timeoutSeconds: 300,
      run: async (ctx) => {
        const { analysis } = ctx.outputs.analyst as { analysis: Analysis };
        const figures = figureLines(analysis).join("\n");
        const text = await ctx.model.stream([
          {
            role: "system",
            content:
              "You are a business analyst. Answer the question in three or four sentences from these figures, " +
              `quoting them exactly; do not invent other numbers.\n\n${figures}`,
          },
          { role: "user", content: ctx.input.question },
        ]);
        return { answer: `${text.trim()}\n\n${figures}` };
      },
    },
  ],
});
