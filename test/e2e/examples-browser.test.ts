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
import {
  applyEvent,
  initialRunProgress,
  type RunEvent,
  type RunProgress,
  stageDataLine,
} from "../../packages/client/index.ts";
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
 * the definition's order, done, each stage's own data (what it sent with ctx.emit / progress
 * data), and an answer that carries what the example's tool computed from its bundled data;
 * the expectations are computed here with the example's own code. The k8s example also runs
 * with the page's generic Parameters field (`filter=Pod`).
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

/** examples/k8s-diagnosis with no filter (no parameters): every problem of cluster.json. */
const PROBLEMS = findProblems(SnapshotSchema.parse(snapshot), KINDS).problems;
const problemLine = (p: (typeof PROBLEMS)[number]) => `${p.kind} ${p.namespace}/${p.name}: ${p.problem}`;
const K8S: Example = {
  module: "examples/k8s-diagnosis/agent.ts",
  stages: namesOf(k8sAgent),
  tool: "inspect_cluster",
  question: "Why is the shop degraded?",
  // Slow enough that the model works for seconds: the elapsed time ticks in the page.
  tokensPerSecond: 20,
  expected: PROBLEMS.map(problemLine),
};
/** The same with `params.filter` "Pod": the pods' problems only. */
const POD_PROBLEMS = findProblems(SnapshotSchema.parse(snapshot), ["Pod"]).problems;
const K8S_PODS: Example = { ...K8S, expected: POD_PROBLEMS.map(problemLine) };

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
  /** Each timeline item's data part: its summary's text, whether it shows, and its fields (dt, dd text). */
  data: Array<{ stage: string | null; summary: string; visible: boolean; fields: Array<[string, string]> }>;
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

/** The page's timeline data parts (packages/web stage-data-view.ts), one per item that has one. */
const dataOf = (page: Page) =>
  page.locator("#timeline li").evaluateAll((lis) =>
    lis.flatMap((li) => {
      const details = li.querySelector("details.data");
      if (!details) return [];
      const summary = details.querySelector("summary");
      const terms = [...details.querySelectorAll("dt")];
      return [
        {
          stage: li.getAttribute("data-stage"),
          summary: summary?.textContent ?? "",
          visible: summary?.checkVisibility() ?? false,
          fields: terms.map((dt): [string, string] => [
            dt.textContent ?? "",
            dt.nextElementSibling?.textContent ?? "",
          ]),
        },
      ];
    }),
  );

/** What {@link askInPage} may do besides asking: fill the Parameters field, act mid-run, act at the end. */
interface AskOptions {
  params?: string;
  whileRunning?: (page: Page) => Promise<void>;
  atEnd?: (page: Page) => Promise<void>;
}

/**
 * Open the page at `url`, ask `question` with its form (and `params` in its Parameters field),
 * call `whileRunning` once the run shows, follow the run to its end and call `atEnd`;
 * everything the page showed, with the page closed.
 */
async function askInPage(url: string, question: string, options: AskOptions = {}): Promise<PageRun> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await recordTimeline(page);
    await page.getByLabel("Question").fill(question);
    if (options.params !== undefined) await page.getByLabel("Parameters").fill(options.params);
    await page.getByRole("button", { name: "Start run" }).click();
    await page.waitForSelector("#timeline li");
    await options.whileRunning?.(page);
    await page.waitForSelector("body[data-done]", { timeout: 90_000 });
    await options.atEnd?.(page);
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
      data: await dataOf(page),
      errors,
    };
  } finally {
    await page.close();
  }
}

/** The run's stored log folded by the typed client: each stage's data as every client keeps it. */
async function storedView(url: string, runId: string): Promise<RunProgress> {
  const res = await fetch(`${url}/runs/${runId}/events?limit=1000`);
  expect(res.status).toBe(200);
  const view = initialRunProgress(runId);
  for (const event of ((await res.json()) as { events: RunEvent[] }).events) applyEvent(view, event);
  return view;
}

/**
 * Each stage that sent data shows it in its row, visible on one line (the summary) and field by
 * field inside; a stage that sent none shows no data part.
 */
function expectPageData(stored: RunProgress, got: PageRun): void {
  const withData = stored.stages.filter((s) => s.data);
  expect(got.data.map((d) => d.stage)).toEqual(withData.map((s) => s.stage));
  for (const stage of withData) {
    const shown = got.data.find((d) => d.stage === stage.stage);
    expect(shown?.summary).toBe(`${stage.stage} data: ${stageDataLine(stage)}`);
    expect(shown?.visible, stage.stage).toBe(true);
    expect(shown?.fields.map(([key]) => key)).toEqual(Object.keys(stage.data ?? {}));
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

/**
 * `stagecast ask` (plain view): a line per stage change in the example's order, each stage's
 * data on the line after its done line, the tool's lines, ✔ Completed.
 */
async function expectCliShows(example: Example, url: string): Promise<void> {
  const r = await runCli(ROOT, ["ask", "--url", url, example.question]);
  expect(r.code, r.stderr).toBe(0);
  const stored = await storedView(url, /^run (\S+)$/m.exec(r.stderr)?.[1] ?? "");
  const lines = r.stdout.split("\n");
  for (const stage of stored.stages) {
    const done = lines.findIndex((line) => new RegExp(`^\\[\\d+%\\] ${stage.stage}: done\\b`).test(line));
    expect(done, stage.stage).toBeGreaterThanOrEqual(0);
    if (stage.data) expect(lines[done + 1]).toBe(`  ${stageDataLine(stage)}`);
    else expect(lines[done + 1]).not.toMatch(/^ {2}/);
  }
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
    const got = await askInPage(url(), MINIMAL.question);
    expectPageShows(MINIMAL, got);
    expectPageData(await storedView(url(), got.runId), got);
  }, 120_000);

  it("stagecast ask shows the same stages and answer", () => expectCliShows(MINIMAL, url()), 120_000);
});

describe("examples/k8s-diagnosis in the page and the CLI", () => {
  const url = stackFor(K8S);

  it(`the page shows ${K8S.stages.join(" → ")} done, the elapsed time while the model works, and the snapshot's problems`, async () => {
    expect(PROBLEMS.map((p) => p.problem)).toContain("CrashLoopBackOff");
    let progressText = "";
    const got = await askInPage(url(), K8S.question, {
      whileRunning: async (page) => {
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
      },
    });
    expectPageShows(K8S, got);
    expectPageData(await storedView(url(), got.runId), got);
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

  it("with Parameters filter=Pod the run covers pods only, and analyze's row shows its data (the problem counts)", async () => {
    expect(POD_PROBLEMS.length).toBeGreaterThan(0);
    let opened: { open: boolean; problems: boolean; expanded: string | null } | undefined;
    const got = await askInPage(url(), K8S.question, {
      params: "filter=Pod",
      atEnd: async (page) => {
        // The data part opens from the keyboard, and shows each field.
        const summary = page.locator('#timeline li[data-stage="analyze"] details.data summary');
        await summary.focus();
        await page.keyboard.press("Enter");
        const details = page.locator('#timeline li[data-stage="analyze"] details.data');
        opened = {
          open: await details.evaluate((d) => (d as HTMLDetailsElement).open),
          problems: await details.locator("dd").first().isVisible(),
          expanded: await details.locator("pre").first().textContent(),
        };
      },
    });
    expectPageShows(K8S_PODS, got);
    expectPageData(await storedView(url(), got.runId), got);
    const run = (await (await fetch(`${url()}/runs/${got.runId}`)).json()) as { params?: unknown };
    expect(run.params).toEqual({ filter: "Pod" });
    // The answer is narrowed to pods: no Deployment's or Service's problem.
    for (const p of PROBLEMS.filter((p) => p.kind !== "Pod"))
      expect(got.answerText).not.toContain(`${p.kind} ${p.namespace}/${p.name}`);
    expect(got.answerText).toContain('Problems found (Pod, filter "Pod"):');
    // analyze's data in its row: the counts of the pods' problems.
    const byProblem: Record<string, number> = {};
    for (const p of POD_PROBLEMS) byProblem[p.problem] = (byProblem[p.problem] ?? 0) + 1;
    const analyze = got.data.find((d) => d.stage === "analyze");
    expect(analyze?.summary).toBe(
      `analyze data: problems: ${POD_PROBLEMS.length} · byKind: {"Pod":${POD_PROBLEMS.length}} · byProblem: ${JSON.stringify(byProblem)}`,
    );
    expect(analyze?.visible).toBe(true);
    expect(analyze?.fields).toEqual([
      ["problems", String(POD_PROBLEMS.length)],
      ["byKind", JSON.stringify({ Pod: POD_PROBLEMS.length }, null, 2)],
      ["byProblem", JSON.stringify(byProblem, null, 2)],
    ]);
    expect(opened).toEqual({
      open: true,
      problems: true,
      expanded: JSON.stringify({ Pod: POD_PROBLEMS.length }, null, 2),
    });
  }, 180_000);

  it("a malformed parameter shows an inline error at the field and starts no run", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const starts: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      if (r.method() === "POST") starts.push(r.url());
    });
    const runs = async () =>
      ((await (await fetch(`${url()}/runs?limit=50`)).json()) as { runs: unknown[] }).runs.length;
    const before = await runs();
    try {
      await page.goto(url());
      const field = page.getByLabel("Parameters");
      const error = page.locator("#params-error");
      await page.getByLabel("Question").fill(K8S.question);

      await field.fill("filter=Pod\n\nkinds");
      await page.getByRole("button", { name: "Start run" }).click();
      await expect
        .poll(() => error.textContent())
        .toBe("Parameters, line 3: expected key=value (e.g. filter=Pod). No run was started.");
      expect(await error.getAttribute("role")).toBe("alert");
      expect(await field.getAttribute("aria-invalid")).toBe("true");
      expect(await field.getAttribute("aria-describedby")).toContain("params-error");
      expect(await field.evaluate((f) => f === document.activeElement)).toBe(true);

      // Typing clears the error; 21 parameters are one too many.
      await field.fill(Array.from({ length: 21 }, (_, i) => `k${i}=${i}`).join("\n"));
      expect(await error.textContent()).toBe("");
      expect(await field.getAttribute("aria-invalid")).toBeNull();
      await page.getByRole("button", { name: "Start run" }).click();
      await expect.poll(() => error.textContent()).toMatch(/^Parameters, line 21: at most 20 parameters\./);

      // Nothing was posted and no run exists: the panel never opened.
      expect(starts).toEqual([]);
      expect(await page.locator("body").getAttribute("data-run-id")).toBeNull();
      expect(await page.locator("#run-panel").isHidden()).toBe(true);
      expect(await runs()).toBe(before);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("stagecast ask shows the same stages and the problems", () => expectCliShows(K8S, url()), 180_000);
});

describe("examples/business-insights in the page and the CLI", () => {
  const url = stackFor(INSIGHTS);

  it(`the page shows ${INSIGHTS.stages.join(" → ")} done, the query_sales calls, and the growth totalled from sales.csv`, async () => {
    const got = await askInPage(url(), INSIGHTS.question);
    expectPageShows(INSIGHTS, got);
    expectPageData(await storedView(url(), got.runId), got);
    expect(got.data.map((d) => d.stage)).toContain("analyst"); // its key figures
    const queries = got.tools.filter((t) => t.name === "query_sales");
    expect(queries).toHaveLength(2);
    expect(got.tools.some((t) => t.name === "calculator" && t.state === "ok")).toBe(true);
  }, 120_000);

  it("stagecast ask shows the same stages and figures", () => expectCliShows(INSIGHTS, url()), 120_000);
});
