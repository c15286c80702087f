import type { RunEvent } from "../events/index.ts";
import { requestJson, type TokenSource } from "./http.ts";
import { type StreamToken, subscription } from "./subscribe.ts";
import type { RunDetails, RunSummary, StagecastClient, StartedRun, SubscribeOptions } from "./types.ts";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` or the deployed `api` output. */
  baseUrl: string;
  /** The stream's base URL (the deployed `stream` output); default `baseUrl` (one server locally). */
  streamUrl?: string;
  /**
   * The caller's bearer JWT, or a function returning the current one (called before every
   * request, so a refreshed login token is picked up). Omit when the server runs with AUTH=off.
   */
  token?: TokenSource;
  /** A fetch implementation (default the global one: Node ≥ 18, every browser). */
  fetch?: typeof fetch;
  /** Reconnect backoff: first delay and cap (ms; default 500 and 10,000), consecutive failures allowed (default 10). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; maxRetries?: number };
}

/** Stream tokens from startRun, kept per run so the first subscribe needs no extra request. */
type TokenCache = Map<string, StreamToken>;

const trim = (url: string) => url.replace(/\/+$/, "");
const enc = encodeURIComponent;

/**
 * A typed Stagecast client for Node and browsers: the API's routes as methods, and a
 * subscription that turns the SSE stream into an AsyncIterable of events typed by the shared
 * zod schema (packages/events). Errors: {@link StagecastApiError} for error answers (with the
 * API's code), StagecastProtocolError, StagecastConnectionError (docs/client.md).
 * @example
 * const client = createClient({ baseUrl: "http://127.0.0.1:3000", token: process.env.STAGECAST_TOKEN });
 * const { runId } = await client.startRun({ question: "How do I stream progress from Lambda?" });
 * for await (const event of client.subscribe(runId)) {
 *   if (event.type === "llm.delta") process.stdout.write(event.data.text);
 * }
 */
export function createClient(options: ClientOptions): StagecastClient {
  const api = trim(options.baseUrl);
  const stream = trim(options.streamUrl ?? options.baseUrl);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const tokens: TokenCache = new Map();
  const remember = (runId: string, token?: string, expiresAt?: string) => {
    if (token) tokens.set(runId, { token, ...(expiresAt ? { expiresAtMs: Date.parse(expiresAt) } : {}) });
  };
  const call = <T>(path: string, init: Omit<Parameters<typeof requestJson>[2], "token"> = {}) =>
    requestJson<T>(fetchFn, `${api}${path}`, { ...init, token: options.token });

  return {
    async startRun(input, opts = {}) {
      const started = await call<StartedRun>("/runs", {
        method: "POST",
        body: input,
        ...(opts.idempotencyKey ? { headers: { "idempotency-key": opts.idempotencyKey } } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      remember(started.runId, started.streamToken, started.streamTokenExpiresAt);
      return started;
    },
    getRun: (runId, opts = {}) =>
      call<RunDetails>(`/runs/${enc(runId)}`, opts.signal ? { signal: opts.signal } : {}),
    async listRuns(opts = {}) {
      const query = opts.limit === undefined ? "" : `?limit=${opts.limit}`;
      const page = await call<{ runs: RunSummary[] }>(
        `/runs${query}`,
        opts.signal ? { signal: opts.signal } : {},
      );
      return page.runs;
    },
    async cancelRun(runId, opts = {}) {
      await call(`/runs/${enc(runId)}/cancel`, {
        method: "POST",
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    },
    subscribe(runId: string, opts: SubscribeOptions = {}): AsyncIterable<RunEvent> {
      const cached = tokens.get(runId);
      return subscription(
        {
          fetch: fetchFn,
          streamUrl: `${stream}/runs/${enc(runId)}/stream`,
          ...(cached ? { cachedToken: cached } : {}),
          newToken: async (signal) => {
            const fresh = await call<{ streamToken?: string; streamTokenExpiresAt?: string }>(
              `/runs/${enc(runId)}/stream-token`,
              { method: "POST", ...(signal ? { signal } : {}) },
            );
            remember(runId, fresh.streamToken, fresh.streamTokenExpiresAt);
            return {
              token: fresh.streamToken,
              ...(fresh.streamTokenExpiresAt ? { expiresAtMs: Date.parse(fresh.streamTokenExpiresAt) } : {}),
            };
          },
          initialDelayMs: options.reconnect?.initialDelayMs ?? 500,
          maxDelayMs: options.reconnect?.maxDelayMs ?? 10_000,
          maxRetries: options.reconnect?.maxRetries ?? 10,
        },
        opts,
      );
    },
  };
}
