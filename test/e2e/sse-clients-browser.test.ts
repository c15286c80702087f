import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Browser, Page, Request } from "playwright-core";
import { afterAll, beforeAll, describe, type ExpectStatic, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { launchChromium } from "../support/chromium.ts";
import {
  type Control,
  expectWholeRun,
  MIN_DEADLINE_CLOSES,
  RECONNECTING_STACK,
  recipeFile,
  startTcpProxy,
  storedEvents,
  type TcpProxy,
} from "../support/sse-clients.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * Browser SSE clients in Debian's Chromium against the local stack, each through the recipe
 * docs/client.md shows (test/clients/*.js): EventSource with named events, EventSource with
 * `onmessage` only (`?format=message`), and @microsoft/fetch-event-source (bundled with
 * esbuild). Each gets every stored event once, in seq order, across several server-initiated
 * closes, and makes no request after the run's end. Also: a bare EventSource stops on the 204;
 * fetch-event-source's defaults stop at the first close; after an abrupt drop (a TCP proxy
 * resets the connection) EventSource reconnects after the server's `retry:` (300 ms), not
 * the browser's default 3 s.
 */

const RETRY_MS = Number(RECONNECTING_STACK.STREAM_RETRY_MS);
/** The page every test loads; Playwright answers it, so it has the stack's (or the proxy's) origin. */
const PAGE_PATH = "/__sse-clients__";

let stack: Awaited<ReturnType<typeof startTestStack>>;
let proxy: TcpProxy;
let browser: Browser;
/** test/clients/fetch-event-source.js and the library itself, bundled for the page. */
let fetchEventSourceBundle: string;

beforeAll(async () => {
  stack = await startTestStack(RECONNECTING_STACK);
  proxy = await startTcpProxy(stack.url);
  browser = await launchChromium();
  const bundled = await build({
    stdin: {
      contents: `import { followRun } from "./fetch-event-source.js";
import { fetchEventSource } from "@microsoft/fetch-event-source";
window.followRun = followRun;
window.fetchEventSource = fetchEventSource;`,
      resolveDir: fileURLToPath(new URL("../clients/", import.meta.url)),
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110"],
    write: false,
  });
  fetchEventSourceBundle = bundled.outputFiles[0]?.text ?? "";
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await stack?.stop();
});

/** A recipe module as the page runs it, its followRun put on window. */
const recipeModule = (path: string) => `${recipeFile(path)}\nwindow.followRun = followRun;\n`;

/** A stream request the page made, with what it sent and got. */
interface StreamRequest {
  url: string;
  lastEventId?: string;
  status?: number;
}

/** A page at `origin` running `module`, and the stream requests it makes. */
async function clientPage(origin: string, module: string) {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const requests: Request[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/stream")) requests.push(r);
  });
  await page.route(`${origin}${PAGE_PATH}`, (route) =>
    route.fulfill({
      contentType: "text/html",
      body: `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>SSE client</title>
<script type="module">${module.replaceAll("</script", "<\\/script")}
window.ready = true;</script>`,
    }),
  );
  await page.goto(`${origin}${PAGE_PATH}`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  await page.unrouteAll();
  /** The stream requests so far, with Last-Event-ID and status. */
  const streamRequests = () =>
    Promise.all(
      requests.map(async (r): Promise<StreamRequest> => {
        const lastEventId = (await r.allHeaders())["last-event-id"];
        const status = (await r.response())?.status();
        return {
          url: r.url(),
          ...(lastEventId === undefined ? {} : { lastEventId }),
          ...(status === undefined ? {} : { status }),
        };
      }),
    );
  return { page, errors, requests, streamRequests };
}

/** What followRun delivered in the page. */
interface Followed {
  terminal: RunEvent | null;
  error?: string;
  events: RunEvent[];
  controls: Control[];
}

/** Call the page's followRun(url) and wait for it to settle. */
async function followInPage(page: Page, url: string): Promise<Followed> {
  return page.evaluate(async (streamUrl) => {
    const events: unknown[] = [];
    const controls: unknown[] = [];
    const w = window as unknown as {
      followRun: (
        url: string,
        handlers: { onEvent: (e: unknown) => void; onControl: (type: string, data: unknown) => void },
      ) => Promise<unknown>;
    };
    try {
      const terminal = await w.followRun(streamUrl, {
        onEvent: (e) => events.push(e),
        onControl: (type, data) => controls.push({ type, data }),
      });
      return { terminal, events, controls } as never;
    } catch (err) {
      return { terminal: null, error: String(err), events, controls } as never;
    }
  }, url);
}

/** After the run's end: one 200 per connection (the first, then one per reconnect frame), nothing more. */
async function expectNoRequestAfterEnd(
  expect: ExpectStatic,
  streamRequests: () => Promise<StreamRequest[]>,
  followed: Followed,
) {
  await sleep(4 * RETRY_MS);
  const closes = followed.controls.filter((c) => c.type === "reconnect");
  const sent = await streamRequests();
  expect(sent.map((r) => r.status)).toEqual(sent.map(() => 200));
  // Each reconnection resumes from the seq the reconnect frame named.
  expect(sent.map((r) => r.lastEventId)).toEqual([undefined, ...closes.map((c) => String(c.data.lastSeq))]);
}

describe.concurrent("SSE clients in Chromium, each with its docs recipe", () => {
  it("EventSource, named events: every stored event once, in order, across closes; no request after the end", async ({
    expect,
  }) => {
    const client = await clientPage(stack.url, recipeModule("test/clients/eventsource-browser.js"));
    try {
      const { runId, links } = await startRun(stack.url, { question: "Does EventSource follow a run?" });
      const got = await followInPage(client.page, links.stream);
      const stored = await storedEvents(stack.store, runId);
      expect(got.error).toBeUndefined();
      expectWholeRun(expect, "EventSource", got.events, stored, got.controls);
      expect(got.terminal).toEqual(stored.at(-1));
      await expectNoRequestAfterEnd(expect, client.streamRequests, got);
      expect(client.errors).toEqual([]);
    } finally {
      await client.page.close();
    }
  }, 60_000);

  it("EventSource, onmessage only with ?format=message: the same", async ({ expect }) => {
    const client = await clientPage(stack.url, recipeModule("test/clients/eventsource-message.js"));
    try {
      const { runId, links } = await startRun(stack.url, { question: "Does onmessage see every frame?" });
      const got = await followInPage(client.page, links.stream);
      const stored = await storedEvents(stack.store, runId);
      expect(got.error).toBeUndefined();
      expectWholeRun(expect, "EventSource onmessage", got.events, stored, got.controls);
      // Control frames carry their kind in `type`.
      for (const c of got.controls) expect(c.data.type).toBe(c.type);
      await expectNoRequestAfterEnd(expect, client.streamRequests, got);
      for (const r of await client.streamRequests()) expect(r.url).toContain("format=message");
      expect(client.errors).toEqual([]);
    } finally {
      await client.page.close();
    }
  }, 60_000);

  it("a bare EventSource that is never closed stops on the 204 after the run's end", async ({ expect }) => {
    const client = await clientPage(stack.url, "");
    try {
      const { runId, links } = await startRun(stack.url, { question: "Does EventSource stop by itself?" });
      await client.page.evaluate((url) => {
        const w = window as unknown as { source: EventSource; seqs: number[] };
        w.seqs = [];
        w.source = new EventSource(url);
        w.source.addEventListener("run.completed", (m) => w.seqs.push(JSON.parse(m.data).seq));
      }, links.stream);
      await client.page.waitForFunction(
        () => (window as unknown as { source: EventSource }).source.readyState === EventSource.CLOSED,
        undefined,
        { timeout: 45_000 },
      );
      await sleep(4 * RETRY_MS);
      const stored = await storedEvents(stack.store, runId);
      expect(await client.page.evaluate(() => (window as unknown as { seqs: number[] }).seqs)).toEqual([
        stored.length,
      ]);
      const sent = await client.streamRequests();
      expect(sent.length).toBeGreaterThanOrEqual(4);
      expect(sent.map((r) => r.status)).toEqual([...sent.slice(1).map(() => 200), 204]);
      expect(sent.at(-1)?.lastEventId).toBe(String(stored.length));
    } finally {
      await client.page.close();
    }
  }, 60_000);

  it("fetch-event-source: every stored event once, in order, across closes; a 204 ends it; its defaults stop at the first close", async ({
    expect,
  }) => {
    const client = await clientPage(stack.url, fetchEventSourceBundle);
    try {
      const { runId, links } = await startRun(stack.url, {
        question: "Does fetch-event-source follow a run?",
      });
      // The library with its defaults, next to the recipe: it resolves at the first close.
      const naive = client.page.evaluate(async (url) => {
        const w = window as unknown as {
          fetchEventSource: (url: string, o: { onmessage: (m: { event: string }) => void }) => Promise<void>;
        };
        const names: string[] = [];
        await w.fetchEventSource(url, { onmessage: (m) => names.push(m.event) });
        return names;
      }, links.stream);
      const got = await followInPage(client.page, links.stream);
      const stored = await storedEvents(stack.store, runId);
      expect(got.error).toBeUndefined();
      expectWholeRun(expect, "fetch-event-source", got.events, stored, got.controls);
      expect(got.terminal).toEqual(stored.at(-1));
      const defaults = await naive;
      expect(defaults.at(-1)).toBe("reconnect");
      expect(
        defaults.filter((n) => n.startsWith("run.") && n !== "run.queued" && n !== "run.started"),
      ).toEqual([]);
      await sleep(4 * RETRY_MS);
      // The recipe's requests: 200 each, resuming with Last-Event-ID; the defaults' one request.
      const sent = await client.streamRequests();
      const closes = got.controls.filter((c) => c.type === "reconnect");
      expect(sent).toHaveLength(closes.length + 2);
      expect(sent.map((r) => r.status)).toEqual(sent.map(() => 200));
      expect(sent.filter((r) => r.lastEventId !== undefined).map((r) => r.lastEventId)).toEqual(
        closes.map((c) => String(c.data.lastSeq)),
      );

      // Resuming at the terminal event: one request, 204, and the recipe returns null.
      const before = client.requests.length;
      const resumed = await followInPage(client.page, `${links.stream}?after=${stored.length}`);
      expect(resumed).toEqual({ terminal: null, events: [], controls: [] });
      await sleep(4 * RETRY_MS);
      expect((await client.streamRequests()).slice(before).map((r) => r.status)).toEqual([204]);
      expect(client.errors).toEqual([]);
    } finally {
      await client.page.close();
    }
  }, 60_000);

  it("EventSource after an abrupt drop reconnects after the server's retry (300 ms), not the default 3 s", async ({
    expect,
  }) => {
    const client = await clientPage(proxy.url, recipeModule("test/clients/eventsource-browser.js"));
    try {
      const { runId } = await startRun(stack.url, { question: "What happens when the network drops?" });
      const following = followInPage(client.page, `${proxy.url}/runs/${runId}/stream`);
      following.catch(() => {}); // awaited below; a failed check before must not leave it unhandled
      // Stream requests through the proxy, in order, each with its connection.
      const streams = () =>
        proxy.connections
          .flatMap((connection) => connection.requests.map((r) => ({ ...r, connection })))
          .filter((r) => r.line.includes(`/runs/${runId}/stream`))
          .sort((a, b) => a.at - b.at);
      // Cut the first connection mid-stream: 500 ms after it opened, its deadline is at 1.5 s.
      await expect.poll(() => streams().length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
      const first = streams()[0];
      await sleep(Math.max(0, (first?.at ?? 0) + 500 - Date.now()));
      expect(first?.connection.closedAt).toBeUndefined();
      const cutAt = Date.now();
      expect(proxy.cut()).toBeGreaterThan(0);
      await expect.poll(() => streams().length, { timeout: 10_000, interval: 10 }).toBeGreaterThan(1);
      const delay = (streams()[1]?.at ?? 0) - cutAt;
      expect(delay).toBeGreaterThanOrEqual(RETRY_MS - 50);
      expect(delay).toBeLessThan(1500);

      const got = await following;
      const stored = await storedEvents(stack.store, runId);
      expect(got.error).toBeUndefined();
      // The cut connection ends without a `reconnect` frame: one deadline close fewer.
      expectWholeRun(
        expect,
        "EventSource through a cut",
        got.events,
        stored,
        got.controls,
        MIN_DEADLINE_CLOSES - 1,
      );
      expect(streams()[0]?.connection.cut).toBe(true);
      expect(client.errors).toEqual([]);
    } finally {
      await client.page.close();
    }
  }, 60_000);
});
