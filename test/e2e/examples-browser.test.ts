import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import insightsAgent from "../../examples/business-insights/agent.ts";
import { parseSales, totalSales } from "../../examples/business-insights/sales.ts";
import k8sAgent from "../../examples/k8s-diagnosis/agent.ts";
import snapshot from "../../examples/k8s-diagnosis/cluster.json" with { type: "json" };
import { findProblems, KINDS, SnapshotSchema } from "../../examples/k8s-diagnosis/cluster.ts";
import minimalAgent from "../../examples/minimal/agent.ts";
import { renderMarkdown } from "../../packages/web/markdown.ts";
import { launchChromium } from "../support/chromium.ts";
import { runCli } from "../support/cli-run.ts";
import {
  recordedTimeline,
  recordTimeline,
  startOrder,
  type TimelineEntry,
} from "../support/page-timeline.ts";
import { startWithAgent } from "../support/start-line.ts";

/**
 * Each example agent (examples/<name>/agent.ts) run as a user runs it (`npm start`'s entry with
 * STAGECAST_AGENT, one stack per example) and asked through the clients every agent gets, with
 * no code of their own for it: the web page in real Chromium (its own form, as
 * test/e2e/browser.test.ts asks) and `stagecast ask`. Both must show the agent's own stages, in
 * the definition's order, done, and an answer that carries what the example's tool computed
 * from its bundled data; the expectations are computed here with the example's own code.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The stage names of an agent definition, in run order. */
const namesOf = (agent: { stages: readonly { name: string }[] }) => agent.stages.map((s) => s.name);

/** An example, what to ask it and what its answer must contain. */
interface Example {
  module: string;
  stages: string[];
  /** The tool whose call the page lists. */
  tool: string;
  question: string;
  /** The offline model's pace for this example's stack (tokens per second). */
  tokensPerSecond: number;
  /** Lines of the answer that come from the tool's result. */
  expected: string[];
}

/** examples/minimal (docs/agents.md's example): the word count of the question ends the answer. */
const MINIMAL_QUESTION = "How many words does this question have?";
const MINIMAL: Example = {
  module: "examples/minimal/agent.ts",
  stages: namesOf(minimalAgent),
  tool: "word_count",
  question: MINIMAL_QUESTION,
  tokensPerSecond: 300,
  expected: [`Your question had ${MINIMAL_QUESTION.split(/\s+/).filter(Boolean).length} words.`],
};

/** examples/k8s-diagnosis with no filter (the page has no params): every problem of cluster.json. */
const PROBLEMS = findProblems(SnapshotSchema.parse(snapshot), KINDS).problems;
const K8S: Example = {
  module: "examples/k8s-diagnosis/agent.ts",
  stages: namesOf(k8sAgent),
  tool: "inspect_cluster",
  question: "Why is the shop degraded?",
  // Slow enough that the model works for seconds: the elapsed time ticks in the page.
  tokensPerSecond: 20,
  expected: PROBLEMS.map((p) => `${p.kind} ${p.namespace}/${p.name}: ${p.problem}`),
};

/** examples/business-insights: revenue per region, Q1 against Q2, totalled from sales.csv. */
function growthLines(): string[] {
  const rows = parseSales(
    readFileSync(new URL("../../examples/business-insights/sales.csv", import.meta.url), "utf8"),
  );
  const total = (quarter: "Q1" | "Q2") =>
    totalSales(rows, { groupBy: "region", metric: "revenue", quarter }).totals;
  const [q1, q2] = [total("Q1"), total("Q2")];
  const usd = (n: number) => n.toLocaleString("en-US");
  const growth = Object.keys(q1).map((region) => {
    const from = q1[region] ?? 0;
    const to = q2[region] ?? 0;
    return { region, from, to, pct: Math.round(((to - from) / from) * 1000) / 10 };
  });
  growth.sort((a, b) => b.pct - a.pct);
  const signed = (pct: number) => `${pct >= 0 ? "+" : ""}${pct}%`;
  return [
    ...growth.map((g) => `${g.region}: ${usd(g.from)} in Q1 → ${usd(g.to)} in Q2 (${signed(g.pct)})`),
    `${growth[0]?.region} grew the most: ${signed(growth[0]?.pct ?? 0)}.`,
  ];
}
const INSIGHTS: Example = {
  module: "examples/business-insights/agent.ts",
  stages: namesOf(insightsAgent),
  tool: "query_sales",
  question: "Which region grew the most from Q1 to Q2?",
  tokensPerSecond: 300,
  expected: growthLines(),
};

/** What the page showed of one run asked through its form and followed to its end. */
interface PageRun {
  runId: string;
  done: string | null;
  seen: TimelineEntry[];
  /** The final timeline: [stage, state] per item, in page order. */
  timeline: Array<[string | null, string | null]>;
  answerText: string;
  answerHtml: string;
  /** The stored answer (GET /runs/{id}), rendered as the page renders it. */
  storedHtml: string;
  tools: Array<{ name: string | null; state: string | null; output: string }>;
  errors: string[];
}

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** `answer` rendered as the page renders it, serialized by the page's DOM (which normalizes entities). */
const rendered = (page: Page, answer: string) =>
  page.evaluate((html) => {
    const div = document.createElement("div");
    div.innerHTML = html;
    return div.innerHTML;
  }, renderMarkdown(answer));

/** The page's tool calls list: name, state and result text per call. */
const toolsOf = (page: Page) =>
  page.locator("#tools li").evaluateAll((lis) =>
    lis.map((li) => ({
      name: li.getAttribute("data-name"),
      state: li.getAttribute("data-state"),
      output: li.querySelector(".output")?.textContent ?? "",
    })),
  );

/**
 * Open the page at `url`, ask `question` with its form, call `whileRunning` once the run shows,
 * and follow the run to its end; everything the page showed, with the page closed.
 */
async function askInPage(
  url: string,
  question: string,
  whileRunning: (page: Page) => Promise<void> = async () => {},
): Promise<PageRun> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await recordTimeline(page);
    await page.getByLabel("Question").fill(question);
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForSelector("#timeline li");
    await whileRunning(page);
    await page.waitForSelector("body[data-done]", { timeout: 90_000 });
    const runId = (await page.locator("body").getAttribute("data-run-id")) ?? "";
    const run = (await (await fetch(`${url}/runs/${runId}`)).json()) as { answer?: string };
    return {
      runId,
      done: await page.locator("body").getAttribute("data-done"),
      seen: await recordedTimeline(page),
      timeline: await page
        .locator("#timeline li")
        .evaluateAll((lis) =>
          lis.map((li) => [li.getAttribute("data-stage"), li.getAttribute("data-state")]),
        ),
      answerText: (await page.locator("#answer").textContent()) ?? "",
      answerHtml: await page.locator("#answer").innerHTML(),
      storedHtml: await rendered(page, run.answer ?? ""),
      tools: await toolsOf(page),
      errors,
    };
  } finally {
    await page.close();
  }
}

/** The page showed the example's stages in order, all done, the final answer with the tool's lines, and the tool call. */
function expectPageShows(example: Example, got: PageRun): void {
  expect(got.done).toBe("run.completed");
  expect(got.runId).toMatch(/^[0-9A-Z]{26}$/);
  expect(startOrder(got.seen)).toEqual(example.stages);
  expect(got.timeline).toEqual(example.stages.map((stage) => [stage, "done"]));
  // A stage that is done stays done.
  for (const stage of example.stages) {
    const states = got.seen.filter((e) => e.stage === stage).map((e) => e.state);
    const done = states.indexOf("done");
    expect(done, stage).toBeGreaterThanOrEqual(0);
    expect(new Set(states.slice(done)), stage).toEqual(new Set(["done"]));
  }
  expect(got.answerHtml).toBe(got.storedHtml);
  for (const line of example.expected) expect(got.answerText).toContain(line);
  const calls = got.tools.filter((t) => t.name === example.tool);
  expect(calls.length).toBeGreaterThan(0);
  expect(calls.map((t) => t.state)).toEqual(calls.map(() => "ok"));
  expect(calls[0]?.output).toMatch(/^result: /);
  expect(got.errors).toEqual([]);
}

/** `stagecast ask` (plain view): a line per stage change in the example's order, the tool's lines, ✔ Completed. */
async function expectCliShows(example: Example, url: string): Promise<void> {
  const r = await runCli(ROOT, ["ask", "--url", url, example.question]);
  expect(r.code, r.stderr).toBe(0);
  const changes = r.stdout
    .split("\n")
    .filter((line) => /^\[\d+%\] /.test(line))
    .map((line) => /^\[\d+%\] (\w+): (running|done)\b/.exec(line)?.slice(1).join(": "));
  expect(changes).toEqual(example.stages.flatMap((s) => [`${s}: running`, `${s}: done`]));
  for (const line of example.expected) expect(r.stdout).toContain(line);
  expect(r.stdout.trimEnd().split("\n").at(-1)).toMatch(/^✔ Completed/);
}

/** Start `example`'s stack before its tests and stop it (its own pid) after; the URL once it listens. */
function stackFor(example: Example): () => string {
  let stack: { url: string; child: ChildProcess } | undefined;
  beforeAll(async () => {
    stack = await startWithAgent(ROOT, example.module, {
      ...process.env,
      OFFLINE_MODEL_TOKENS_PER_SECOND: String(example.tokensPerSecond),
    });
  }, 60_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
  });
  return () => stack?.url ?? "";
}

describe("examples/minimal in the page and the CLI", () => {
  const url = stackFor(MINIMAL);

  it(`the page shows ${MINIMAL.stages.join(" → ")} done, the word_count call, and the answer ending with the count`, async () => {
    expectPageShows(MINIMAL, await askInPage(url(), MINIMAL.question));
  }, 120_000);

  it("stagecast ask shows the same stages and answer", () => expectCliShows(MINIMAL, url()), 120_000);
});

describe("examples/k8s-diagnosis in the page and the CLI", () => {
  const url = stackFor(K8S);

  it(`the page shows ${K8S.stages.join(" → ")} done, the elapsed time while the model works, and the snapshot's problems`, async () => {
    expect(PROBLEMS.map((p) => p.problem)).toContain("CrashLoopBackOff");
    let progressText = "";
    const got = await askInPage(url(), K8S.question, async (page) => {
      // The stage's own message counts the seconds the model has been working: at least 1 s shown.
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#timeline li[data-state="running"] .message')].some((m) =>
            /\([1-9]\d* s\)…$/.test(m.textContent ?? ""),
          ),
        undefined,
        { timeout: 60_000 },
      );
      progressText = (await page.locator("#progress-text").textContent()) ?? "";
    });
    expectPageShows(K8S, got);
    expect(progressText).toMatch(/^\d+% · .+ elapsed · /);
    // The counter ticked in the page: one stage showed at least two different elapsed times.
    const ticks = (stage: string) =>
      new Set(
        got.seen
          .filter((e) => e.stage === stage && e.state === "running")
          .flatMap((e) => /\((\d+) s\)…$/.exec(e.message)?.[1] ?? []),
      ).size;
    expect(Math.max(...K8S.stages.map(ticks))).toBeGreaterThanOrEqual(2);
    expect(got.tools.find((t) => t.name === "inspect_cluster")?.output).toContain("CrashLoopBackOff");
  }, 180_000);

  it("stagecast ask shows the same stages and the problems", () => expectCliShows(K8S, url()), 180_000);
});

describe("examples/business-insights in the page and the CLI", () => {
  const url = stackFor(INSIGHTS);

  it(`the page shows ${INSIGHTS.stages.join(" → ")} done, the query_sales calls, and the growth totalled from sales.csv`, async () => {
    const got = await askInPage(url(), INSIGHTS.question);
    expectPageShows(INSIGHTS, got);
    const queries = got.tools.filter((t) => t.name === "query_sales");
    expect(queries).toHaveLength(2);
    expect(got.tools.some((t) => t.name === "calculator" && t.state === "ok")).toBe(true);
  }, 120_000);

  it("stagecast ask shows the same stages and figures", () => expectCliShows(INSIGHTS, url()), 120_000);
});
