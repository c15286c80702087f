import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExamplePageConfig } from "../../examples/react-app/page-config.ts";
import { type ExampleServer, serveExample } from "../../examples/react-app/serve.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestStack } from "../support/stack.ts";

/**
 * examples/react-app as `npm run example:react` serves it (its own server, the bundle esbuild
 * builds from its sources, the stack on another origin allowed by CORS_ORIGINS), driven in
 * Chromium against the real local stack.
 */

type Run = { status: string; answer: string; stages: Array<{ name: string }> };

describe("the React example in Chromium", () => {
  let config: ExamplePageConfig | undefined;
  let example: ExampleServer | undefined;
  let stack: Awaited<ReturnType<typeof startTestStack>> | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const errors: string[] = [];

  const getRun = async (runId: string) => (await (await fetch(`${stack?.url}/runs/${runId}`)).json()) as Run;
  const shownRunId = async () => (await page.locator(".run-id").textContent()) ?? "";

  beforeAll(async () => {
    example = await serveExample({ port: 0, stack: () => config });
    // Paced so the answer arrives as several llm.delta events.
    stack = await startTestStack({
      CORS_ORIGINS: example.origins.join(","),
      OFFLINE_MODEL_TOKENS_PER_SECOND: "100",
    });
    config = { baseUrl: stack.url };
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(example.url);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await example?.close();
  });

  it("asks a question, then shows the run's stages, its answer as it streams, and how it ended", async () => {
    // Every text the answer box shows, in order.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { answers: string[] }).answers = seen;
      new MutationObserver(() => {
        const text = document.querySelector(".answer")?.textContent ?? "";
        if (text !== seen.at(-1)) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel("Question").fill("What is 1234 * 5678, and how does a browser see the progress?");
    await page.getByRole("button", { name: "Ask" }).click();
    await page.waitForSelector('section.run[data-status="completed"]', { timeout: 60_000 });

    const runId = await shownRunId();
    const run = await getRun(runId);
    expect(run.status).toBe("completed");
    const timeline = await page
      .locator(".timeline li")
      .evaluateAll((items) =>
        items.map((li) => [li.getAttribute("data-stage"), li.getAttribute("data-state")]),
      );
    expect(timeline).toEqual(run.stages.map((s) => [s.name, "done"]));
    for (const duration of await page.locator(".timeline .duration").allTextContents()) {
      expect(duration).toMatch(/^\d+ (ms|s)$|^\d+ min \d\d s$/);
    }
    expect(await page.locator(".answer").textContent()).toBe(run.answer);
    expect(await page.getByLabel("Progress").getAttribute("value")).toBe("100");
    expect(await page.getByRole("status").textContent()).toMatch(/^Completed in .+, \d+ tokens\.$/);
    expect(await page.getByRole("button", { name: "Cancel" }).isDisabled()).toBe(true);

    // The answer grew in several steps before it was whole, each step extending the one before.
    const answers = (await page.evaluate(() => (window as unknown as { answers: string[] }).answers)).filter(
      (text) => text !== "" && !text.startsWith("The answer appears here"),
    );
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.at(-1)).toBe(run.answer);
    for (const [i, text] of answers.entries()) expect(answers[i + 1] ?? run.answer).toContain(text.trimEnd());
    expect(errors).toEqual([]);
  }, 90_000);

  it("cancels the running run with Cancel and shows it as cancelled", async () => {
    const knobs = `${stack?.offlineModelUrl}/_offline/knobs`;
    // The run's first model call waits until the cancel aborts it: the run is surely still running.
    await fetch(knobs, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stallNext: { count: 1, ms: 60_000 } }),
    });
    try {
      const before = await shownRunId();
      await page.getByLabel("Question").fill("Please take your time with this one.");
      await page.getByRole("button", { name: "Ask" }).click();
      await page.waitForFunction((previous) => {
        const run = document.querySelector("section.run");
        const id = run?.querySelector(".run-id")?.textContent;
        return id !== previous && run?.getAttribute("data-status") === "running";
      }, before);
      await page.waitForSelector('.timeline li[data-state="running"]');
      const cancel = page.getByRole("button", { name: "Cancel" });
      expect(await cancel.isEnabled()).toBe(true);
      await cancel.click();
      await page.waitForSelector('section.run[data-status="cancelled"]', { timeout: 30_000 });
      expect(await page.getByRole("status").textContent()).toMatch(/^Cancelled after /);
      expect(await page.locator('.timeline li[data-state="cancelled"]').count()).toBe(1);
      expect(await page.locator('.timeline li[data-state="running"]').count()).toBe(0);
      expect(await cancel.isDisabled()).toBe(true);
      expect((await getRun(await shownRunId())).status).toBe("cancelled");
      expect(errors).toEqual([]);
    } finally {
      await fetch(knobs, { method: "DELETE" });
    }
  }, 60_000);
});
