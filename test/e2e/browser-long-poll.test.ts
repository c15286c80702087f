import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderMarkdown } from "../../packages/web/markdown.ts";
import { DEFAULT_STAGES as STAGES } from "../support/agents.ts";
import { launchChromium } from "../support/chromium.ts";
import { startTestStack } from "../support/stack.ts";
import { hs256CallerToken } from "../support/tokens.ts";

/**
 * The web page's long-poll mode in Chromium, against the local stack with AUTH=jwt: the owner's
 * page (`?mode=long-poll`) starts a run and shares it; a second browser context, with no token
 * and no storage (an audience member), opens the shared `?watch=<poll link>` page while the run
 * goes and follows it to its end, by GET /runs/{runId}/poll only.
 */

const SECRET = "browser-long-poll-test-secret-with-32-bytes";
const QUESTION = "What is 1234 * 5678, and how does a large audience watch a long run?";

let stack: Awaited<ReturnType<typeof startTestStack>>;
let browser: Browser;
let token: string;

beforeAll(async () => {
  // A slow model: the run takes several seconds, so the audience joins while it goes.
  stack = await startTestStack({
    AUTH: "jwt",
    AUTH_JWT_SECRET: SECRET,
    OFFLINE_MODEL_TOKENS_PER_SECOND: "12",
  });
  token = await hs256CallerToken(SECRET, "alice");
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.workflow.idle();
  await stack?.stop();
});

/** Paths (and methods) of the page's own fetches, and its script errors, recorded as they happen. */
function watchRequests(page: Page): { fetches: string[]; errors: string[] } {
  const fetches: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => {
    if (r.resourceType() === "fetch") fetches.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { fetches, errors };
}

/** Record, from before the page's script runs, every state any timeline item takes. */
async function recordStates(page: Page) {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { seenStates: string[] }).seenStates = seen;
    const note = (node: Node) => {
      if (node instanceof Element && node.matches("#timeline li"))
        seen.push(node.getAttribute("data-state") ?? "");
    };
    new MutationObserver((records) => {
      for (const r of records) {
        note(r.target);
        for (const n of r.addedNodes) note(n);
      }
    }).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });
}

/** `answer` rendered as the page renders it, serialized by the same DOM. */
const rendered = (page: Page, answer: string) =>
  page.evaluate((html) => {
    const div = document.createElement("div");
    div.innerHTML = html;
    return div.innerHTML;
  }, renderMarkdown(answer));

describe("the web page's long-poll mode", () => {
  it("the owner shares a running run; an audience page opened from the link follows it to the end by /poll only", async () => {
    const ownerContext = await browser.newContext();
    const audienceContext = await browser.newContext();
    try {
      const owner = await ownerContext.newPage();
      const ownerLog = watchRequests(owner);
      await owner.goto(`${stack.url}/?mode=long-poll`);
      expect(await owner.locator("body").getAttribute("data-read-mode")).toBe("long-poll");
      await owner.getByLabel("Token").fill(token);
      await owner.getByLabel("Question").fill(QUESTION);
      await owner.getByRole("button", { name: "Start run" }).click();
      await owner.waitForSelector('#timeline li[data-state="running"]');
      const runId = (await owner.locator("body").getAttribute("data-run-id")) as string;

      // Share: the page link that watches the run, `/?watch=<poll link with the watch token>`.
      await owner.getByRole("button", { name: "Share" }).click();
      const field = owner.getByLabel("Link to watch this run");
      await expect.poll(() => field.isVisible(), { timeout: 10_000 }).toBe(true);
      mkdirSync("test-results", { recursive: true });
      await owner.screenshot({ path: "test-results/page-share.png" });
      const shared = await field.inputValue();
      const watchParam = new URL(shared).searchParams.get("watch") ?? "";
      expect(shared.startsWith(`${stack.url}/?watch=`)).toBe(true);
      expect(watchParam).toMatch(
        new RegExp(`^${stack.url}/runs/${runId}/poll\\?token=[\\w-]+\\.[\\w-]+\\.[\\w-]+$`),
      );

      const audience = await audienceContext.newPage();
      const audienceLog = watchRequests(audience);
      await recordStates(audience);
      await audience.goto(shared);
      expect(await audience.locator("body").getAttribute("data-read-mode")).toBe("long-poll");
      await audience.waitForSelector('body[data-done="run.completed"]', { timeout: 60_000 });
      await owner.waitForSelector('body[data-done="run.completed"]', { timeout: 60_000 });

      // The audience joined a running run: it saw a stage running, then every stage done.
      const seen = await audience.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
      expect(seen).toContain("running");
      const states = await audience
        .locator("#timeline li")
        .evaluateAll((lis) =>
          lis.map((li) => [li.getAttribute("data-stage"), li.getAttribute("data-state")]),
        );
      expect(states).toEqual(STAGES.map((s) => [s, "done"]));
      const run = (await (
        await fetch(`${stack.url}/runs/${runId}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { answer: string };
      expect(await audience.locator("#answer").innerHTML()).toBe(await rendered(audience, run.answer));
      expect(await owner.locator("#answer").innerHTML()).toBe(await rendered(owner, run.answer));
      expect(await audience.locator("#outcome").textContent()).toMatch(/^Completed\./);
      // Read-only: no cancel, no share for someone else's run.
      expect(await audience.locator("#cancel").isHidden()).toBe(true);
      expect(await audience.locator("#share").isHidden()).toBe(true);

      // The audience made no API call at all: every request was a poll of the shared link.
      expect(audienceLog.fetches.length).toBeGreaterThan(1);
      expect(new Set(audienceLog.fetches)).toEqual(new Set([`GET /runs/${runId}/poll`]));
      // The owner read by long-poll too (`?mode=long-poll`), never by /stream.
      expect(ownerLog.fetches).toContain(`POST /runs/${runId}/watch-token`);
      expect(ownerLog.fetches).toContain(`GET /runs/${runId}/poll`);
      expect(ownerLog.fetches.filter((f) => f.endsWith("/stream"))).toEqual([]);
      expect([...ownerLog.errors, ...audienceLog.errors]).toEqual([]);
    } finally {
      await audienceContext.close();
      await ownerContext.close();
    }
  }, 120_000);

  it("says so when the watch link is not a run's poll link, and requests nothing", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const log = watchRequests(page);
      await page.goto(`${stack.url}/?watch=${encodeURIComponent("https://example.com/not/a/run")}`);
      await expect
        .poll(() => page.locator("#notice").textContent(), { timeout: 10_000 })
        .toMatch(/not a Stagecast run link/);
      expect(await page.locator("#notice").getAttribute("data-error")).toBe("true");
      expect(log.fetches).toEqual([]);
      expect(log.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
