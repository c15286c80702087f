/**
 * `npm run screenshot:react-app`: take README's picture of the React example
 * (docs/images/react-app.png) from the running example. It starts the local stack (offline
 * model, in memory, free port) and the example's server as `npm run example:react` does, asks
 * the example's default question in headless Chromium (Debian's chromium, or CHROMIUM_PATH),
 * waits for the run to complete and saves the page. Everything it started is stopped at the end.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { ExamplePageConfig } from "../examples/react-app/page-config.ts";
import { serveExample } from "../examples/react-app/serve.ts";
import { startLocalStack } from "../local/stack/index.ts";
import { loadConfig } from "../packages/config/index.ts";

const OUT = fileURLToPath(new URL("../docs/images/react-app.png", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** A root, offline, headless Chromium (as test/support/chromium.ts launches it). */
const FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];

if (!existsSync(CHROMIUM)) {
  console.error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  process.exit(1);
}

let page: ExamplePageConfig | undefined;
const example = await serveExample({ port: 0, stack: () => page });
// The built-in agent on the offline model, paced so the answer streams in several pieces.
const stack = await startLocalStack(
  loadConfig({ PORT: "0", CORS_ORIGINS: example.origins.join(","), OFFLINE_MODEL_TOKENS_PER_SECOND: "400" }),
  { log: () => {} },
);
page = { baseUrl: stack.url, ...(stack.devToken ? { token: stack.devToken } : {}) };
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
try {
  const tab = await browser.newPage({ viewport: { width: 900, height: 760 }, deviceScaleFactor: 1 });
  await tab.goto(example.url);
  await tab.getByRole("button", { name: "Ask" }).click();
  await tab.waitForSelector('section.run[data-status="completed"]', { timeout: 120_000 });
  mkdirSync(dirname(OUT), { recursive: true });
  await tab.screenshot({ path: OUT, fullPage: true });
  console.log(`wrote ${OUT.slice(fileURLToPath(new URL("..", import.meta.url)).length)}`);
} finally {
  await browser.close();
  await stack.stop();
  await example.close();
}
