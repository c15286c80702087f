import { readFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import type { ExpectStatic } from "vitest";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";
import type { Store } from "../../packages/store/index.ts";

/**
 * Shared pieces of the third-party SSE client tests (test/sse-clients*.test.ts): the stack
 * settings that make every client reconnect several times per run, the checks of what a
 * client received, and a TCP proxy whose connections a test can cut.
 */

/**
 * A stack on which a run lasts several seconds (a slow offline model) while each stream
 * connection ends after 1.5 s with a `reconnect` frame: every client must resume 4+ times.
 */
export const RECONNECTING_STACK = {
  OFFLINE_MODEL_TOKENS_PER_SECOND: "20",
  STREAM_MAX_DURATION_MS: "1500",
  STREAM_RETRY_MS: "300",
};
/** Fewest server-initiated closes (reconnect frames, reason `deadline`) a followed run must show. */
export const MIN_DEADLINE_CLOSES = 3;

/** A frame that is not stored, as a client's `onControl(type, data)` saw it. */
export interface Control {
  type: string;
  data: Record<string, unknown>;
}

/** Every stored event of a run, as JSON (what a client parses from `data:`). */
export async function storedEvents(store: Store, runId: string): Promise<RunEvent[]> {
  const page = await store.events.read(runId, 0, 1000);
  if (page.hasMore) throw new Error(`run ${runId} has more than 1000 events`);
  return JSON.parse(JSON.stringify(page.events)) as RunEvent[];
}

/**
 * What a client that followed a whole run must have received: every stored event exactly once,
 * equal to the stored one, in seq order 1..N, the last (and only) terminal event at the end;
 * and, in `controls`, at least MIN_DEADLINE_CLOSES `reconnect` frames (deadline), each naming
 * the last seq delivered before it. `minCloses` is lower where the test itself ends a
 * connection another way (a cut connection sends no `reconnect` frame).
 */
export function expectWholeRun(
  expect: ExpectStatic,
  client: string,
  got: RunEvent[],
  stored: RunEvent[],
  controls: Control[],
  minCloses = MIN_DEADLINE_CLOSES,
): void {
  expect(stored.length, "stored events").toBeGreaterThan(10);
  expect(
    got.map((e) => e.seq),
    `${client}: seqs`,
  ).toEqual(stored.map((_, i) => i + 1));
  expect(got, `${client}: events`).toEqual(stored);
  expect(got.filter((e) => isTerminalType(e.type)).length, `${client}: terminal events`).toBe(1);
  expect(isTerminalType(got.at(-1)?.type ?? ""), `${client}: ends with the terminal event`).toBe(true);
  const closes = controls.filter((c) => c.type === "reconnect");
  expect(closes.length, `${client}: reconnect frames`).toBeGreaterThanOrEqual(minCloses);
  for (const c of closes) {
    expect(c.data.reason, `${client}: reconnect reason`).toBe("deadline");
    expect(c.data.retryMs, `${client}: reconnect retryMs`).toBe(Number(RECONNECTING_STACK.STREAM_RETRY_MS));
  }
  // Each reconnect frame names the seq it was sent after, so the resume point is never behind.
  expect(
    closes.every((c) => typeof c.data.lastSeq === "number" && c.data.lastSeq < stored.length),
    `${client}: reconnect lastSeq`,
  ).toBe(true);
  expect(
    controls.filter((c) => c.type === "heartbeat").length,
    `${client}: opening heartbeats`,
  ).toBeGreaterThanOrEqual(closes.length + 1);
}

/** The recipe files the docs show (docs/client.md keeps each verbatim after a `<!-- recipe: path -->` line). */
export const RECIPES = [
  "test/clients/eventsource-browser.js",
  "test/clients/eventsource-message.js",
  "test/clients/fetch-event-source.js",
  "test/clients/eventsource-node.js",
  "test/clients/follow_httpx_sse.py",
  "test/clients/follow_requests.py",
] as const;

/** The code block that follows `<!-- recipe: path -->` in a markdown text, or undefined. */
export function recipeInDocs(markdown: string, path: string): string | undefined {
  const start = markdown.indexOf(`<!-- recipe: ${path} -->`);
  if (start < 0) return undefined;
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(markdown.slice(start));
  return match?.[1];
}

/** A recipe file's text (path relative to the repository root). */
export const recipeFile = (path: string): string =>
  readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

/** One connection through {@link TcpProxy}. */
export interface ProxiedConnection {
  /** When the client connected (ms since epoch). */
  at: number;
  /** The request lines the client sent on it (`GET /runs/… HTTP/1.1`), with when each was seen. */
  requests: Array<{ at: number; line: string }>;
  /** When it closed, by either side or by a cut. */
  closedAt?: number;
  cut: boolean;
}

/** A TCP proxy in front of a server: connections pass through unchanged until {@link TcpProxy.cut}. */
export interface TcpProxy {
  url: string;
  connections: ProxiedConnection[];
  /** Reset both sides of every open connection (the client sees ECONNRESET): an abrupt drop. */
  cut(): number;
  close(): Promise<void>;
}

/** Start a TCP proxy on loopback in front of `target` (an http://host:port URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<{ client: Socket; upstream: Socket; info: ProxiedConnection }>();
  const connections: ProxiedConnection[] = [];
  const server = createServer((client) => {
    const info: ProxiedConnection = { at: Date.now(), requests: [], cut: false };
    connections.push(info);
    const upstream = connect(Number(port), hostname);
    const pair = { client, upstream, info };
    open.add(pair);
    // Requests without a body (GET) on a keep-alive connection: each starts a chunk.
    client.on("data", (chunk: Buffer) => {
      for (const m of chunk.toString("latin1").matchAll(/(?:^|\r\n)([A-Z]+ \S+ HTTP\/1\.1)\r\n/g)) {
        if (m[1]) info.requests.push({ at: Date.now(), line: m[1] });
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      info.closedAt ??= Date.now();
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", done);
    upstream.on("close", done);
    client.on("error", done);
    upstream.on("error", done);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy did not listen");
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections,
    cut() {
      const pairs = [...open];
      for (const { client, upstream, info } of pairs) {
        info.cut = true;
        info.closedAt = Date.now();
        client.resetAndDestroy();
        upstream.destroy();
      }
      return pairs.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of open) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
