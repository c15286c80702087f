import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser, Page, Response as PageResponse } from "playwright-core";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import { launchChromium } from "../support/chromium.ts";
import { resetKnobs, setKnobs } from "../support/faults.ts";
import { startTestStack } from "../support/stack.ts";

/**
 * `useChat` (@ai-sdk/react) in Debian's Chromium against the local stack: a React page
 * (test/e2e/fixtures/use-chat-page.ts, bundled with esbuild) with
 * `DefaultChatTransport({ api: <stack>/ai-sdk/chat })` and `resume: true`. The page is served
 * at the stack's origin by Playwright (page.route), so its requests are same-origin. Streams end
 * every 3 s (STREAM_MAX_DURATION_MS), so a slow run also exercises the page's resume after a
 * `data-reconnect` part.
 */

const PAGE = "/__use-chat__";
let stack: Awaited<ReturnType<typeof startTestStack>>;
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  stack = await startTestStack({ STREAM_MAX_DURATION_MS: "3000", STREAM_RETRY_MS: "200" });
  browser = await launchChromium();
  const out = await build({
    entryPoints: [fileURLToPath(new URL("./fixtures/use-chat-page.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110"],
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
  });
  bundle = out.outputFiles[0]?.text ?? "";
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A page at the stack's origin running the useChat page for chat `chatId`; records page errors and chat requests. */
async function chatPage(chatId: string) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const resumes: PageResponse[] = [];
  page.on("response", (r) => {
    if (r.url().endsWith(`/ai-sdk/chat/${chatId}/stream`)) resumes.push(r);
  });
  await page.route(`${stack.url}${PAGE}.js`, (route) =>
    route.fulfill({ contentType: "text/javascript", body: bundle }),
  );
  await page.route(`${stack.url}${PAGE}?**`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>useChat</title>
<div id="root"></div><script type="module" src="${PAGE}.js"></script>`,
    }),
  );
  await page.goto(`${stack.url}${PAGE}?chat=${chatId}`);
  await page.waitForSelector("#status");
  return { page, errors, resumes };
}

/** Type a question and send it. */
async function send(page: Page, question: string) {
  await page.fill("#question", question);
  await page.click("#send");
}

/** The run's stored log once it has ended. */
async function endedLog(runId: string): Promise<RunEvent[]> {
  await stack.workflow.idle();
  const { events } = await stack.store.events.read(runId, 0, 1000);
  if (!isTerminalType(events.at(-1)?.type ?? "")) throw new Error(`run ${runId} has not ended`);
  return events;
}

const answerOf = (log: RunEvent[]) => {
  const last = log.at(-1);
  if (last?.type !== "run.completed") throw new Error(`run ended with ${last?.type}`);
  return last.data.answer;
};

const assistant = (page: Page) => page.locator('li.message[data-role="assistant"]');

describe("useChat in Chromium", () => {
  it("sends a message and renders the run's answer and its tool calls", async () => {
    const { page, errors } = await chatPage(`chat-${ulid()}`);
    try {
      await send(page, "What is 17% of 2,340?");
      await page.waitForSelector('li.message[data-role="assistant"][data-run-status="completed"]');
      await page.waitForSelector('#status[data-status="ready"]');
      const runId = (await assistant(page).getAttribute("data-id")) ?? "";
      const answer = answerOf(await endedLog(runId));
      expect(await page.locator('li.message[data-role="user"] .text').textContent()).toBe(
        "What is 17% of 2,340?",
      );
      expect(await assistant(page).count()).toBe(1);
      expect(await assistant(page).locator(".text").textContent()).toBe(answer);
      const tools = await assistant(page)
        .locator(".tool")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.every((s) => s === "output-available" || s === "output-error")).toBe(true);
      expect(await page.locator("#error").count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("a reload mid-run resumes the chat's run: the complete answer, exactly once", async () => {
    await setKnobs(stack.offlineModelUrl ?? "", { tokensPerSecond: 25 });
    const chatId = `chat-${ulid()}`;
    const { page, errors, resumes } = await chatPage(chatId);
    try {
      await send(page, "How do I stream progress from Lambda to a browser?");
      // Mid-run: part of the answer is on the page.
      await page.waitForFunction(
        () =>
          (document.querySelector('li.message[data-role="assistant"] .text')?.textContent ?? "").length > 0,
      );
      const runId = (await assistant(page).getAttribute("data-id")) ?? "";
      const before = await stack.store.events.last(runId);
      expect(isTerminalType(before?.type ?? "")).toBe(false);

      // On its first load the page asked to resume and was told there was nothing (204).
      expect(resumes[0]?.status()).toBe(204);
      resumes.length = 0;

      await page.reload();
      await page.waitForSelector('li.message[data-role="assistant"][data-run-status="completed"]', {
        timeout: 45_000,
      });
      await page.waitForSelector('#status[data-status="ready"]');
      const answer = answerOf(await endedLog(runId));
      // The page's state after the reload is the resumed stream alone: one message, the whole answer once.
      expect(await assistant(page).count()).toBe(1);
      expect(await assistant(page).getAttribute("data-id")).toBe(runId);
      expect(await assistant(page).locator(".text").textContent()).toBe(answer);
      const body = (await page.locator("body").textContent()) ?? "";
      expect(body.split(answer).length - 1).toBe(1);
      // The reloaded page resumed through GET /ai-sdk/chat/{id}/stream while the run was still going.
      expect(resumes.length).toBeGreaterThan(0);
      expect(resumes.every((r) => r.status() === 200)).toBe(true);
      expect(await page.locator("#error").count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await resetKnobs(stack.offlineModelUrl ?? "");
    }
  }, 90_000);

  it("a response closed at the stream's time limit ends with data-reconnect; the page resumes and renders the whole answer once", async () => {
    // At 10 tokens/s the run outlasts the 3 s stream limit: its POST response is closed mid-run.
    await setKnobs(stack.offlineModelUrl ?? "", { tokensPerSecond: 10 });
    const { page, errors, resumes } = await chatPage(`chat-${ulid()}`);
    try {
      await page.waitForFunction(
        () => document.querySelector("#status")?.getAttribute("data-status") === "ready",
      );
      await send(page, "How do I stream progress from Lambda to a browser?");
      await page.waitForSelector('li.message[data-role="assistant"][data-run-status="completed"]', {
        timeout: 60_000,
      });
      await page.waitForSelector('#status[data-status="ready"]');
      const runId = (await assistant(page).getAttribute("data-id")) ?? "";
      const answer = answerOf(await endedLog(runId));
      const statuses = resumes.map((r) => r.status());
      // The mount's 204, then at least one replay the data-reconnect part asked for.
      expect(statuses[0]).toBe(204);
      expect(statuses.slice(1).length).toBeGreaterThan(0);
      expect(statuses.slice(1).every((s) => s === 200)).toBe(true);
      expect(await assistant(page).count()).toBe(1);
      expect(await assistant(page).locator(".text").textContent()).toBe(answer);
      const body = (await page.locator("body").textContent()) ?? "";
      expect(body.split(answer).length - 1).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await resetKnobs(stack.offlineModelUrl ?? "");
    }
  }, 90_000);
});
