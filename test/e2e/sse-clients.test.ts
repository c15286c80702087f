import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_TYPES, type RunEvent, TERMINAL_TYPES } from "../../packages/events/index.ts";
// The recipe docs/client.md shows, run as it is.
import { followRun } from "../clients/eventsource-node.js";
import {
  type Control,
  expectWholeRun,
  RECIPES,
  RECONNECTING_STACK,
  recipeFile,
  recipeInDocs,
  storedEvents,
} from "../support/sse-clients.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/**
 * The `eventsource` npm package (v4) in Node against the local stack, through the recipe
 * test/clients/eventsource-node.js: every stored event once, in order, across several
 * server-initiated closes; a stop after the run's end (no reconnect loop after 204); the
 * `ended` frame. Also: docs/client.md carries every recipe of docs "Other SSE clients" verbatim.
 */

let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  stack = await startTestStack(RECONNECTING_STACK);
});
afterAll(async () => {
  await stack?.stop();
});

/** A fetch for EventSourceInit that records each stream request's status and Last-Event-ID. */
function countingFetch() {
  const requests: Array<{ url: string; lastEventId: string | null; status?: number }> = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const entry: (typeof requests)[number] = {
      url: String(input),
      lastEventId: new Headers(init?.headers).get("last-event-id"),
    };
    requests.push(entry);
    const res = await fetch(input, init);
    entry.status = res.status;
    return res;
  };
  return { requests, fetch: fetchFn };
}

/** Follow a run with the recipe, collecting what it delivers. */
async function follow(url: string, init: { fetch?: typeof fetch } = {}) {
  const events: RunEvent[] = [];
  const controls: Control[] = [];
  const terminal = await followRun(
    url,
    {
      onEvent: (e: RunEvent) => events.push(e),
      onControl: (type: string, data: Record<string, unknown>) => controls.push({ type, data }),
    },
    init,
  );
  return { terminal, events, controls };
}

describe.concurrent("the eventsource package (Node) with the recipe", () => {
  it("delivers every stored event once, in seq order, across several server-initiated closes, then stops", async ({
    expect,
  }) => {
    const { runId, links } = await startRun(stack.url, {
      question: "How do third-party SSE clients resume?",
    });
    const counter = countingFetch();
    const { terminal, events, controls } = await follow(links.stream, { fetch: counter.fetch });
    const stored = await storedEvents(stack.store, runId);
    expectWholeRun(expect, "eventsource", events, stored, controls);
    expect(terminal).toEqual(stored.at(-1));
    // One request per connection: the first, then one per reconnect frame, each resuming
    // with Last-Event-ID = the seq the reconnect frame named.
    const closes = controls.filter((c) => c.type === "reconnect");
    expect(counter.requests.map((r) => r.status)).toEqual(counter.requests.map(() => 200));
    expect(counter.requests.map((r) => r.lastEventId)).toEqual([
      null,
      ...closes.map((c) => String(c.data.lastSeq)),
    ]);
    // No request after the end.
    await sleep(4 * Number(RECONNECTING_STACK.STREAM_RETRY_MS));
    expect(counter.requests).toHaveLength(closes.length + 1);
  }, 60_000);

  it("resolves null on a 204 (resuming at the terminal event) and makes no other request", async ({
    expect,
  }) => {
    const { runId, links } = await startRun(stack.url, { question: "What does a 204 mean to a client?" });
    await follow(links.stream);
    const last = (await storedEvents(stack.store, runId)).at(-1)?.seq;
    const counter = countingFetch();
    const resumed = await follow(`${links.stream}?after=${last}`, { fetch: counter.fetch });
    expect(resumed.terminal).toBeNull();
    expect(resumed.events).toEqual([]);
    await sleep(4 * Number(RECONNECTING_STACK.STREAM_RETRY_MS));
    expect(counter.requests.map((r) => r.status)).toEqual([204]);
  }, 60_000);

  it("ends on the `ended` frame when its cursor is past the run's end", async ({ expect }) => {
    const { runId, links } = await startRun(stack.url, { question: "What if my cursor is ahead?" });
    const ahead = await follow(`${links.stream}?after=99999`);
    const stored = await storedEvents(stack.store, runId);
    expect(ahead.terminal).toBeNull();
    expect(ahead.events).toEqual([]);
    const ended = ahead.controls.filter((c) => c.type === "ended");
    expect(ended).toEqual([
      { type: "ended", data: { runId, lastSeq: stored.length, terminal: stored.at(-1)?.type } },
    ]);
    expect(ahead.controls.at(-1)?.type).toBe("ended");
  }, 60_000);
});

describe("docs/client.md, Other SSE clients", () => {
  const docs = readFileSync(new URL("../../docs/client.md", import.meta.url), "utf8");

  it.each(RECIPES)("shows %s verbatim", (path) => {
    expect(recipeInDocs(docs, path), `docs/client.md: <!-- recipe: ${path} --> then a code block`).toBe(
      recipeFile(path),
    );
  });

  it("the recipes list the stored event types and terminal types of the schema", () => {
    for (const path of RECIPES) {
      const text = recipeFile(path);
      for (const type of TERMINAL_TYPES) expect(text, path).toContain(`"${type}"`);
      // The named-event recipes register one listener per stored type.
      if (text.includes("addEventListener(type"))
        for (const type of EVENT_TYPES) expect(text, path).toContain(`"${type}"`);
    }
  });
});
