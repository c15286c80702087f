import { existsSync, mkdirSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAGES } from "../packages/events/index.ts";
import { startTestStack } from "./support/stack.ts";

/** Debian's chromium (apt-get install chromium); .ci/run installs it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Flags a root, offline, headless Chromium needs here (../shared/notes/toolchain.md). */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let stack: Awaited<ReturnType<typeof startTestStack>>;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "100" });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("the page at / in a real browser", () => {
  it("starts a run and shows its events arriving over EventSource until the run completes", async () => {
    const page = await browser.newPage();
    await page.goto(stack.url);
    await page.getByLabel("Question").fill("How does the page receive progress?");
    await page.getByRole("button", { name: "Start run" }).click();

    // Mid-run: some events are shown before the run ends.
    await page.waitForSelector('#events li[data-type="llm.delta"]');
    expect(await page.locator("body").getAttribute("data-done")).toBeNull();
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/page-mid-run.png", fullPage: true });

    await page.waitForSelector('body[data-done="run.completed"]', { timeout: 20_000 });
    const items = await page.locator("#events li").allTextContents();
    const stageStarts = items.filter((t) => / stage\.started /.test(t)).map((t) => /\[(\w+)\]/.exec(t)?.[1]);
    expect(stageStarts).toEqual([...STAGES]);
    expect(items.at(-1)).toMatch(/ run\.completed /);
    const seqs = items.map((t) => Number(t.split(" ")[0]));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    const runId = await page.locator("body").getAttribute("data-run-id");
    const status = await (await fetch(`${stack.url}/runs/${runId}`)).json();
    expect(await page.locator("#answer").textContent()).toBe(status.answer);
    expect(await page.locator("#progress").getAttribute("value")).toBe("100");
    await page.close();
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
