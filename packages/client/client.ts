import type { RunEvent } from "../events/index.ts";
import type { BackoffSettings } from "./backoff.ts";
import { InvalidPollUrlError } from "./errors.ts";
import { requestJson, type TokenSource } from "./http.ts";
import { type PollLink, parsePollLink } from "./poll-link.ts";
import { pollSubscription } from "./poll-subscription.ts";
import { type StreamToken, subscription } from "./subscribe.ts";
import type {
  ReadMode,
  RunDetails,
  RunSummary,
  StagecastClient,
  StartedRun,
  SubscribeOptions,
  WatchLink,
} from "./types.ts";

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
  /**
   * How `subscribe` reads a run unless its own `mode` says otherwise: `sse` (default) or
   * `long-poll` (for a large audience behind a CDN; see {@link ReadMode}).
   */
  readMode?: ReadMode;
}

/** Stream tokens from startRun, kept per run so the first subscribe needs no extra request. */
type TokenCache = Map<string, StreamToken>;

/** What the client's methods share: URLs, fetch, the caller token, the token cache, backoff. */
interface ClientContext {
  stream: string;
  fetchFn: typeof fetch;
  tokens: TokenCache;
  backoff: BackoffSettings;
  call: <T>(path: string, init?: Omit<Parameters<typeof requestJson>[2], "token">) => Promise<T>;
}

const trim = (url: string) => url.replace(/\/+$/, "");
const enc = encodeURIComponent;
const withSignal = (signal?: AbortSignal) => (signal ? { signal } : {});

/**
 * A typed Stagecast client for Node and browsers: the API's routes as methods, and a
 * subscription that turns the SSE stream (or, for large audiences, long-polls of a CDN-cached
 * route) into an AsyncIterable of events typed by the shared zod schema (packages/events).
 * Errors: {@link StagecastApiError} for error answers (with the API's code),
 * StagecastProtocolError, StagecastConnectionError, InvalidPollUrlError (docs/client.md).
 * @example
 * const client = createClient({ baseUrl: "http://127.0.0.1:3000", token: process.env.STAGECAST_TOKEN });
 * const { runId } = await client.startRun({ question: "How do I stream progress from Lambda?" });
 * for await (const event of client.subscribe(runId)) {
 *   if (event.type === "llm.delta") process.stdout.write(event.data.text);
 * }
 */
export function createClient(options: ClientOptions): StagecastClient {
  const api = trim(options.baseUrl);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const ctx: ClientContext = {
    stream: trim(options.streamUrl ?? options.baseUrl),
    fetchFn,
    tokens: new Map(),
    backoff: {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 500,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 10_000,
      maxRetries: options.reconnect?.maxRetries ?? 10,
    },
    call: (path, init = {}) => requestJson(fetchFn, `${api}${path}`, { ...init, token: options.token }),
  };
  const { call } = ctx;
  return {
    async startRun(input, opts = {}) {
      const started = await call<StartedRun>("/runs", {
        method: "POST",
        body: input,
        ...(opts.idempotencyKey ? { headers: { "idempotency-key": opts.idempotencyKey } } : {}),
        ...withSignal(opts.signal),
      });
      remember(ctx, started.runId, started.streamToken, started.streamTokenExpiresAt);
      return started;
    },
    getRun: (runId, opts = {}) => call<RunDetails>(`/runs/${enc(runId)}`, withSignal(opts.signal)),
    async listRuns(opts = {}) {
      const query = opts.limit === undefined ? "" : `?limit=${opts.limit}`;
      return (await call<{ runs: RunSummary[] }>(`/runs${query}`, withSignal(opts.signal))).runs;
    },
    async cancelRun(runId, opts = {}) {
      await call(`/runs/${enc(runId)}/cancel`, { method: "POST", ...withSignal(opts.signal) });
    },
    subscribe(runId: string, opts: SubscribeOptions = {}): AsyncIterable<RunEvent> {
      const mode = opts.pollUrl ? "long-poll" : (opts.mode ?? options.readMode ?? "sse");
      return mode === "long-poll" ? pollRun(ctx, runId, opts) : streamRun(ctx, runId, opts);
    },
    watch: (pollUrl, opts = {}) =>
      pollSubscription({ ...ctx.backoff, fetch: fetchFn, link: parsePollLink(pollUrl) }, opts),
    getWatchLink: (runId, opts = {}) =>
      call<WatchLink>(`/runs/${enc(runId)}/watch-token`, { method: "POST", ...withSignal(opts.signal) }),
  };
}

/** Keep a run's stream token (from startRun or /stream-token) for its next SSE connection. */
function remember(ctx: ClientContext, runId: string, token?: string, expiresAt?: string): void {
  if (token) ctx.tokens.set(runId, { token, ...(expiresAt ? { expiresAtMs: Date.parse(expiresAt) } : {}) });
}

/** The SSE subscription of run `runId` (subscribe.ts), with the cached or a fresh stream token. */
function streamRun(ctx: ClientContext, runId: string, opts: SubscribeOptions): AsyncIterable<RunEvent> {
  const cached = ctx.tokens.get(runId);
  return subscription(
    {
      fetch: ctx.fetchFn,
      streamUrl: `${ctx.stream}/runs/${enc(runId)}/stream`,
      ...(cached ? { cachedToken: cached } : {}),
      newToken: async (signal) => {
        const fresh = await ctx.call<{ streamToken?: string; streamTokenExpiresAt?: string }>(
          `/runs/${enc(runId)}/stream-token`,
          { method: "POST", ...withSignal(signal) },
        );
        remember(ctx, runId, fresh.streamToken, fresh.streamTokenExpiresAt);
        return {
          token: fresh.streamToken,
          ...(fresh.streamTokenExpiresAt ? { expiresAtMs: Date.parse(fresh.streamTokenExpiresAt) } : {}),
        };
      },
      ...ctx.backoff,
    },
    opts,
  );
}

/**
 * The long-poll subscription of run `runId` (poll-subscription.ts): from `opts.pollUrl` as it is
 * (no API call), else from the owner's POST /runs/{runId}/watch-token (again when it lapses).
 * @throws InvalidPollUrlError (at once) when `opts.pollUrl` is not a poll link of run `runId`.
 */
function pollRun(ctx: ClientContext, runId: string, opts: SubscribeOptions): AsyncIterable<RunEvent> {
  const deps = { ...ctx.backoff, fetch: ctx.fetchFn };
  if (opts.pollUrl) {
    const link = parsePollLink(opts.pollUrl);
    if (link.runId !== runId)
      throw new InvalidPollUrlError(`the poll link is for run ${link.runId}, not ${runId}`);
    return pollSubscription({ ...deps, link }, opts);
  }
  const newLink = async (signal?: AbortSignal): Promise<PollLink> => {
    const answer = await ctx.call<WatchLink>(`/runs/${enc(runId)}/watch-token`, {
      method: "POST",
      ...withSignal(signal),
    });
    return parsePollLink(answer.links.poll, answer.watchTokenExpiresAt);
  };
  return pollSubscription({ ...deps, newLink }, opts);
}
