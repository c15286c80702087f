import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMarkdown } from "../../packages/web/markdown.ts";
import { DEFAULT_STAGES as STAGES } from "../support/agents.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestStack } from "../support/stack.ts";

/** A question the offline model answers with tool calls (calculator) and a multi-sentence answer. */
const QUESTION = "What is 1234 * 5678, and how does a browser see the progress of a long run?";

let stack: Awaited<ReturnType<typeof startTestStack>>;
let browser: Browser;

beforeAll(async () => {
  // Slow enough that a run takes several seconds (room to reload and cancel mid-run); streams
  // end every 3 s, so the page reconnects and resumes several times per run.
  stack = await startTestStack({
    OFFLINE_MODEL_TOKENS_PER_SECOND: "12",
    STREAM_MAX_DURATION_MS: "3000",
    STREAM_RETRY_MS: "200",
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Record, in the page, every state each timeline item takes, in order (a MutationObserver). */
async function recordTimeline(page: Page) {
  await page.evaluate(() => {
    const seen: Array<[string, string]> = [];
    (window as unknown as { seen: typeof seen }).seen = seen;
    const note = (li: Element) => {
      const entry: [string, string] = [
        li.getAttribute("data-stage") ?? "",
        li.getAttribute("data-state") ?? "",
      ];
      const last = seen.findLast(([stage]) => stage === entry[0]);
      if (!last || last[1] !== entry[1]) seen.push(entry);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.target instanceof Element && r.target.matches("#timeline li")) note(r.target);
        for (const n of r.addedNodes) if (n instanceof Element && n.matches("#timeline li")) note(n);
      }
    }).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });
}

const answerText = (page: Page) => page.locator("#answer").textContent();

/** `answer` rendered as the page renders it, serialized by the same DOM (which normalizes entities). */
const rendered = (page: Page, answer: string) =>
  page.evaluate((html) => {
    const div = document.createElement("div");
    div.innerHTML = html;
    return div.innerHTML;
  }, renderMarkdown(answer));

async function finalAnswer(runId: string): Promise<string> {
  const run = (await (await fetch(`${stack.url}/runs/${runId}`)).json()) as { answer: string };
  return run.answer;
}

describe("the web client in a real browser", () => {
  it("shows the stages in order, the answer growing and tool calls; resumes after a reload without duplicating text", async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`${stack.url}/client`);
      await recordTimeline(page);
      await page.getByLabel("Question").fill(QUESTION);
      await page.getByRole("button", { name: "Start run" }).click();

      // The answer grows: two distinct non-empty lengths, the second longer, before the end.
      await page.waitForFunction(() => (document.getElementById("answer")?.textContent?.length ?? 0) > 20);
      const first = (await answerText(page))?.length ?? 0;
      await page.waitForFunction(
        (n) => (document.getElementById("answer")?.textContent?.length ?? 0) > n,
        first,
      );
      expect(await page.locator("body").getAttribute("data-done")).toBeNull();
      expect(await page.locator("#progress").getAttribute("aria-valuetext")).toMatch(/%, .* elapsed/);
      mkdirSync("test-results", { recursive: true });
      await page.screenshot({ path: "test-results/page-mid-run.png", fullPage: true });

      const seen = (await page.evaluate(() => (window as unknown as { seen: string[][] }).seen)) as Array<
        [string, string]
      >;
      const runId = (await page.locator("body").getAttribute("data-run-id")) as string;
      expect(runId).toMatch(/^[0-9A-Z]{26}$/);

      // Reload mid-run: the page remembers the run, replays it and follows it to the end.
      await page.reload();
      await page.waitForSelector('body[data-done="run.completed"]', { timeout: 60_000 });
      expect(await page.locator("body").getAttribute("data-run-id")).toBe(runId);

      // Before the reload, stages left "pending" in workflow order (a stage quicker than one
      // frame may go straight to done), and the slow ones were seen running.
      const order = [...new Set(seen.filter(([, s]) => s !== "pending").map(([stage]) => stage))];
      expect(order).toEqual(STAGES.slice(0, order.length));
      expect(order.length).toBeGreaterThanOrEqual(STAGES.indexOf("execution") + 1);
      const running = seen.filter(([, s]) => s === "running").map(([stage]) => stage);
      expect(running).toEqual(expect.arrayContaining(["analyzing", "planning", "execution"]));
      // A stage that is done stays done.
      for (const stage of STAGES) {
        const states = seen.filter(([s]) => s === stage).map(([, s]) => s);
        if (states.includes("done")) expect(states.at(-1), stage).toBe("done");
      }
      const states = await page
        .locator("#timeline li")
        .evaluateAll((lis) =>
          lis.map((li) => [li.getAttribute("data-stage"), li.getAttribute("data-state")]),
        );
      expect(states).toEqual(STAGES.map((s) => [s, "done"]));
      for (const d of await page.locator("#timeline li .duration").allTextContents())
        expect(d).toMatch(/\d+ (ms|s)/);

      // The answer after the reload is the stored answer exactly once, rendered as markdown.
      const answer = await finalAnswer(runId);
      expect(await page.locator("#answer").innerHTML()).toBe(await rendered(page, answer));
      expect(await page.locator("#progress").getAttribute("value")).toBe("100");
      expect(await page.locator("#outcome").textContent()).toMatch(/^Completed\./);

      // The tool call is listed with its input and result.
      const tool = page.locator('#tools li[data-name="calculator"]');
      await expect.poll(() => tool.getAttribute("data-state")).toBe("ok");
      await tool.locator("summary").click();
      expect(await tool.locator(".input").textContent()).toContain("1234");
      expect(await tool.locator(".output").textContent()).toMatch(/^result: /);

      // The run is in the recent runs list.
      await expect.poll(() => page.locator(`#recent button[data-run-id="${runId}"]`).count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);

  it("shows Reconnecting… while the stream cannot be reached, then resumes without duplicating text", async () => {
    for (const stage of STAGES) await stack.store.stageStats.record("default", stage, 2000);
    const page = await browser.newPage();
    try {
      await page.goto(stack.url);
      await page.getByLabel("Question").fill("How does a dropped connection resume?");
      await page.getByRole("button", { name: "Start run" }).click();
      await page.waitForSelector('#timeline li[data-state="running"]');
      // With stage durations of earlier runs in the store, the page estimates the time left.
      await expect.poll(() => page.locator("#progress-text").textContent()).toMatch(/about \d.* left/);
      // Refuse every new stream connection: when the current stream ends (every 3 s here),
      // the reconnect fails and the page must say so.
      await page.route("**/runs/*/stream**", (route) => route.abort("connectionreset"));
      await page.waitForSelector("#connection:not([hidden])", { timeout: 15_000 });
      expect(await page.locator("body").getAttribute("data-connection")).toBe("reconnecting");
      await page.unroute("**/runs/*/stream**");
      await page.waitForSelector('body[data-done="run.completed"]', { timeout: 60_000 });
      expect(await page.locator("#connection").isHidden()).toBe(true);
      const runId = (await page.locator("body").getAttribute("data-run-id")) as string;
      expect(await page.locator("#answer").innerHTML()).toBe(await rendered(page, await finalAnswer(runId)));
    } finally {
      await page.close();
    }
  }, 90_000);

  it("cancels a running run with the Cancel button (keyboard only) and shows it as cancelled", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(stack.url);
      await page.getByLabel("Question").fill("Please take your time with this one.");
      // Ctrl+Enter in the question starts the run.
      await page.getByLabel("Question").press("Control+Enter");
      await page.waitForSelector('#timeline li[data-stage="analyzing"][data-state="running"]');
      const cancel = page.getByRole("button", { name: "Cancel run" });
      expect(await cancel.isEnabled()).toBe(true);
      await cancel.focus();
      await page.keyboard.press("Enter");
      await page.waitForSelector('body[data-done="run.cancelled"]', { timeout: 20_000 });
      expect(await page.locator("#outcome").textContent()).toMatch(/^Cancelled/);
      expect(await page.locator('#timeline li[data-state="cancelled"]').count()).toBe(1);
      expect(await page.locator('#timeline li[data-state="running"]').count()).toBe(0);
      expect(await cancel.isDisabled()).toBe(true);
      expect(await page.getByRole("status").textContent()).toMatch(/^Cancelled/);
      const runId = await page.locator("body").getAttribute("data-run-id");
      const run = (await (await fetch(`${stack.url}/runs/${runId}`)).json()) as { status: string };
      expect(run.status).toBe("cancelled");
    } finally {
      await page.close();
    }
  });

  it("renders model markdown safely: raw HTML and javascript: links from the answer do not become markup", () => {
    const html = renderMarkdown(
      '**bold** <img src=x onerror="alert(1)"> [x](javascript:alert(1)) <script>1</script>',
    );
    expect(html).toContain("<strong>bold</strong>");
    expect(html).not.toMatch(/<img|<script|javascript:/i);
    expect(html).toContain("&lt;img");
  });
});

describe("the page with authentication on (AUTH=jwt, generated development token)", () => {
  it("uses the prefilled token, runs under its Content-Security-Policy, and completes a run", async () => {
    const secured = await startTestStack({ AUTH: "jwt", OFFLINE_MODEL_TOKENS_PER_SECOND: "200" });
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    try {
      await page.goto(secured.url);
      expect(await page.getByLabel("Token").inputValue()).toBe(secured.devToken);
      await page.getByLabel("Question").fill("Does the page work with a token?");
      await page.getByRole("button", { name: "Start run" }).click();
      await page.waitForSelector('body[data-done="run.completed"]', { timeout: 20_000 });
      expect((await page.locator("#answer").textContent())?.length).toBeGreaterThan(0);
      expect(violations).toEqual([]);
    } finally {
      await page.close();
      await secured.stop();
    }
  });
});
