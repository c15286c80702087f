import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvent, initialRunProgress } from "../../packages/client/index.ts";
import { type AutoGenEvent, AutoGenEventSchema, type RunEvent } from "../../packages/events/index.ts";
import { readSse } from "../support/sse.ts";
import { startWithAgent } from "../support/start-line.ts";

/**
 * examples/business-insights run as a user would: `npm start`'s entry with STAGECAST_AGENT,
 * over real HTTP and SSE. The figures are computed here from sales.csv on their own, so the
 * test checks that the agent's tools got them right and that they reach the answer.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MODULE = "examples/business-insights/agent.ts";
const QUESTION = "Which region grew the most from Q1 to Q2?";

/** Revenue per region and quarter, and the growth in percent (one decimal), from sales.csv. */
function expectedFigures() {
  const csv = readFileSync(new URL("../../examples/business-insights/sales.csv", import.meta.url), "utf8");
  const revenue: Record<"Q1" | "Q2", Record<string, number>> = { Q1: {}, Q2: {} };
  for (const line of csv.trim().split("\n").slice(1)) {
    const [month, region, , , amount] = line.split(",");
    const quarter = Number(month?.slice(5)) <= 3 ? "Q1" : "Q2";
    revenue[quarter][String(region)] = (revenue[quarter][String(region)] ?? 0) + Number(amount);
  }
  const growth = Object.keys(revenue.Q1).map((region) => {
    const q1 = revenue.Q1[region] ?? 0;
    const q2 = revenue.Q2[region] ?? 0;
    return { region, q1, q2, pct: Math.round(((q2 - q1) / q1) * 1000) / 10 };
  });
  growth.sort((a, b) => b.pct - a.pct);
  return { revenue, growth, leader: growth[0]?.region };
}

const FIGURES = expectedFigures();
const usd = (n: number) => n.toLocaleString("en-US");

/** Every figure the answer must quote: both quarters' revenue and the growth of each region. */
function expectFiguresIn(answer: string): void {
  for (const g of FIGURES.growth) {
    expect(answer).toContain(`${g.region}: ${usd(g.q1)} in Q1 → ${usd(g.q2)} in Q2 (+${g.pct}%)`);
  }
  expect(answer).toContain(`${FIGURES.leader} grew the most`);
}

/** POST `body` to `url` and read the SSE response with eventsource-parser until the server ends it. */
async function postSse(url: string, body: unknown): Promise<{ res: Response; frames: EventSourceMessage[] }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const frames: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => frames.push(e) });
  if (!res.body) throw new Error("POST /ask-stream answered without a body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return { res, frames };
}

describe("examples/business-insights, run with STAGECAST_AGENT", () => {
  let stack: { url: string; child: ChildProcess };
  /** The POST /runs run's events as its stream sent them, shared by (a) and (c). */
  let events: RunEvent[] = [];

  beforeAll(async () => {
    stack = await startWithAgent(ROOT, MODULE, { ...process.env, OFFLINE_MODEL_TOKENS_PER_SECOND: "300" });
    const res = await fetch(`${stack.url}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: QUESTION }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const { frames } = await readSse(`${stack.url}/runs/${runId}/stream`, { timeoutMs: 30_000 });
    events = frames
      .filter((f) => f.event !== "heartbeat" && f.event !== "reconnect")
      .map((f) => JSON.parse(f.data) as RunEvent);
  }, 60_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
  });

  it("(a) POST /runs: plans, queries, calculates, and the tools' figures reach the answer", () => {
    expect(events[0]?.type).toBe("run.queued");
    expect(events[0]?.data).toMatchObject({
      agent: "business-insights",
      stages: [
        { name: "planner", weight: 1 },
        { name: "analyst", weight: 2 },
        { name: "writer", weight: 2 },
      ],
    });
    const tools = events.flatMap((e) => (e.type === "tool.completed" ? [e.data] : []));
    const queries = tools.filter((t) => t.name === "query_sales");
    expect(queries.map((t) => t.ok)).toEqual([true, true]);
    expect(queries.map((t) => t.result)).toEqual(
      (["Q1", "Q2"] as const).map((quarter) => ({
        groupBy: "region",
        metric: "revenue",
        quarter,
        rows: 18,
        totals: FIGURES.revenue[quarter],
      })),
    );
    const calculations = tools.filter((t) => t.name === "calculator");
    expect(calculations).toHaveLength(FIGURES.growth.length);
    expect(calculations.every((t) => t.ok)).toBe(true);
    expect(calculations.map((t) => Number((t.result as { result: string }).result)).sort()).toEqual(
      FIGURES.growth.map((g) => g.pct).sort(),
    );
    // The analyst's key figures, for clients.
    const keyFigures = events.find(
      (e) => e.type === "stage.progress" && e.stage === "analyst" && e.data.leader,
    );
    expect(keyFigures?.data).toMatchObject({ leader: FIGURES.leader });
    expect(events.filter((e) => e.type === "llm.delta" && e.stage === "writer").length).toBeGreaterThan(0);

    const last = events.at(-1);
    if (last?.type !== "run.completed") throw new Error(`the run ended with ${last?.type}`);
    expectFiguresIn(last.data.answer);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  });

  it("(b) POST /ask-stream: AutoGen frames with query_sales tool_execution, ending in completed with the figures", async () => {
    const { res, frames } = await postSse(`${stack.url}/ask-stream`, { question: QUESTION });
    const autogen: AutoGenEvent[] = frames.map((f) => AutoGenEventSchema.parse(JSON.parse(f.data)));
    expect(autogen[0]?.event.event_type).toBe("started");
    expect(autogen[0]?.event.data.question).toBe(QUESTION);
    const toolFrames = autogen.filter((e) => e.event.event_type === "tool_execution").map((e) => e.event);
    const finished = toolFrames.filter(
      (e) => e.data.tool_name === "query_sales" && e.data.status === "completed",
    );
    expect(finished.map((e) => e.data.parameters)).toEqual([
      { groupBy: "region", metric: "revenue", quarter: "Q1" },
      { groupBy: "region", metric: "revenue", quarter: "Q2" },
    ]);
    expect(finished.map((e) => e.agent_name)).toEqual(["AnalystAgent", "AnalystAgent"]);
    expect(toolFrames.some((e) => e.data.tool_name === "calculator" && e.data.status === "completed")).toBe(
      true,
    );

    const last = autogen.at(-1)?.event;
    expect(last?.event_type).toBe("completed");
    expect(autogen.filter((e) => e.event.event_type === "completed")).toHaveLength(1);
    expect(last?.data.run_id).toBe(res.headers.get("x-run-id"));
    expectFiguresIn(String(last?.data.final_response));
  }, 60_000);

  it("(c) the typed client's view shows the three stages done, the tool calls and the answer", () => {
    const runId = String(events[0]?.runId);
    const view = initialRunProgress(runId);
    for (const event of events) applyEvent(view, event);
    expect(view.agent).toBe("business-insights");
    expect(view.status).toBe("completed");
    expect(view.progress).toBe(100);
    expect(view.stages.map((s) => [s.stage, s.weight, s.state])).toEqual([
      ["planner", 1, "done"],
      ["analyst", 2, "done"],
      ["writer", 2, "done"],
    ]);
    expect(view.tools.map((t) => [t.name, t.stage, t.state])).toEqual([
      ["query_sales", "analyst", "ok"],
      ["query_sales", "analyst", "ok"],
      ...FIGURES.growth.map(() => ["calculator", "analyst", "ok"]),
    ]);
    expectFiguresIn(view.answer);
  });
});
