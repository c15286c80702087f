import type { RunEvent, RunStage, RunStatus, SafeError, Stage } from "../events/index.ts";
import type { RunParams } from "./params.ts";

/** Absolute URLs of a run's resources; `stream` carries the stream token when auth is on. */
export interface RunLinks {
  self: string;
  events: string;
  stream: string;
}

/** What to start (POST /runs body, docs/api.md). `question` ≤ 8,000 characters. */
export interface StartRunInput {
  question: string;
  /** Scopes the memory stage's notes (1–64 of `A-Za-z0-9_.-`). */
  projectId?: string;
  /** Links runs that are turns of one conversation. */
  conversationId?: string;
  /**
   * Named values for the agent (`ctx.input.params`): at most 20 keys; strings ≤ 1,000
   * characters. From `key=value` text: `parseParamLines` or `addParam` (params.ts).
   */
  params?: RunParams;
}

/** The 202 answer of POST /runs. `streamTokenExpiresAt` is ISO-8601 UTC. */
export interface StartedRun {
  runId: string;
  status: "queued";
  streamToken?: string;
  streamTokenExpiresAt?: string;
  links: RunLinks;
}

/**
 * How long the run's agent's stages took in earlier runs, by stage name: attempts completed
 * and their mean duration (ms) over recent runs, for a time-remaining estimate.
 */
export type StageEstimates = Partial<Record<Stage, { runs: number; meanMs: number }>>;

/**
 * A run as GET /runs and GET /runs/{runId} show it: the run item merged with its newest
 * event. Times are ISO-8601 UTC; `progress` is percent (0–100); `lastSeq` the newest seq.
 */
export interface RunSummary {
  runId: string;
  status: RunStatus;
  question: string;
  projectId?: string;
  conversationId?: string;
  /** The request's named values for the agent, when it had any. */
  params?: RunParams;
  /** The name of the agent that runs it. */
  agent: string;
  /**
   * The agent's stages in run order with their weights (what a timeline shows); empty for a
   * run from before runs listed their stages.
   */
  stages: RunStage[];
  stage?: Stage;
  progress: number;
  lastSeq: number;
  message?: string;
  answer?: string;
  error?: SafeError;
  createdAt: string;
  updatedAt: string;
  links: RunLinks;
}

/** GET /runs/{runId}: a run plus the stage estimates. */
export interface RunDetails extends RunSummary {
  stageEstimates: StageEstimates;
}

/** Connection state of a subscription, for "reconnecting…" indicators. */
export type StreamState = "connecting" | "open" | "reconnecting";

/**
 * How a subscription reads a run's log (docs/client.md, "Large audiences: the long-poll mode"):
 * - `sse` (the default): one Server-Sent Events stream per watcher (GET /runs/{runId}/stream),
 *   the lowest latency; each watcher costs the store its own reads;
 * - `long-poll`: GET /runs/{runId}/poll with a cursor, answers a CDN can share between every
 *   watcher, so thousands of watchers cost the store what one does (latency: about a second).
 */
export type ReadMode = "sse" | "long-poll";

/**
 * The 200 answer of POST /runs/{runId}/watch-token (the run's owner only): the watch token
 * shared by every watcher of the run in the current window, when it expires (ISO-8601 UTC), and
 * `links.poll`, the link to share (`<stream base>/runs/{runId}/poll?token=…`; no token with AUTH=off).
 */
export interface WatchLink {
  runId: string;
  watchToken?: string;
  watchTokenExpiresAt?: string;
  links: { poll: string };
}

/** Options of {@link StagecastClient.subscribe}. */
export interface SubscribeOptions {
  /** Deliver events with seq greater than this (default 0: the whole log). */
  after?: number;
  /** Ends the subscription (the iterator returns; nothing is thrown). */
  signal?: AbortSignal;
  /**
   * Only these event types, e.g. `["stage.*", "llm.delta"]`; terminal events always arrive.
   * SSE filters on the server; long-poll reads every event and filters in the client.
   */
  types?: readonly string[];
  /**
   * How to read the log; default the client's `readMode` (itself default `sse`). `long-poll`
   * first gets the run's poll link (POST /runs/{runId}/watch-token: the owner's call) unless
   * `pollUrl` is given.
   */
  mode?: ReadMode;
  /**
   * A poll link shared by the run's owner (`links.poll` of {@link WatchLink}): read with
   * long-poll from it, with no API call and no caller token (so `mode` is `long-poll`
   * whatever it says). Must name the same run.
   */
  pollUrl?: string;
  /**
   * Called when the connection state changes, with the consecutive failure count. Long-poll
   * reports `open` after its first answer, `reconnecting` after each failed poll, and `open`
   * again once one succeeds.
   */
  onState?: (state: StreamState, failures: number) => void;
  /** Called for each heartbeat (`elapsedMs` since the run was created); SSE only (long-poll has none). */
  onHeartbeat?: (beat: { elapsedMs: number; progress: number; stage?: Stage; lastSeq: number }) => void;
}

/** A typed Stagecast client (see {@link createClient}). Every method throws {@link StagecastApiError} on an error answer. */
export interface StagecastClient {
  /** POST /runs. `idempotencyKey` makes a retry return the same run (24 h). */
  startRun(
    input: StartRunInput,
    options?: { idempotencyKey?: string; signal?: AbortSignal },
  ): Promise<StartedRun>;
  /** GET /runs/{runId}. */
  getRun(runId: string, options?: { signal?: AbortSignal }): Promise<RunDetails>;
  /** GET /runs: the caller's newest runs first, `limit` 1–50 (default 20). */
  listRuns(options?: { limit?: number; signal?: AbortSignal }): Promise<RunSummary[]>;
  /** POST /runs/{runId}/cancel; succeeds again for a run already cancelled, 409 `run_finished` otherwise. */
  cancelRun(runId: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The run's events in seq order, each once, validated against the shared schema; ends
   * after the terminal event. Reconnects by itself (resuming after the last seq it
   * delivered) and fetches a new stream token when the old one expired.
   * With `mode: "long-poll"` (or `pollUrl`) it polls instead, with the same guarantees.
   * @throws StagecastApiError for a refusal that retrying cannot fix (404, 400, 403; 401 of a
   *   shared `pollUrl`, e.g. `token_expired`);
   *   StagecastConnectionError after `maxRetries` consecutive failed connections;
   *   StagecastProtocolError for an event that fails the schema;
   *   InvalidPollUrlError (at once, from the call) for a `pollUrl` that is not this run's poll link.
   */
  subscribe(runId: string, options?: SubscribeOptions): AsyncIterable<RunEvent>;
  /**
   * Follow the run a shared poll link names, in long-poll mode, with no API call and no caller
   * token: what an audience member who does not own the run does with the link the owner
   * shared. Same events, order, resume (`after`) and ending as {@link subscribe}.
   * @throws InvalidPollUrlError (at once) when `pollUrl` is not a poll link; during iteration as
   *   subscribe does (401 `token_expired` once the link's token lapsed: ask the owner for a new one).
   */
  watch(pollUrl: string, options?: Omit<SubscribeOptions, "mode" | "pollUrl">): AsyncIterable<RunEvent>;
  /**
   * POST /runs/{runId}/watch-token: the run's poll link to share with an audience (the same
   * link for every call within a token window, so every watcher shares the CDN's cache).
   * Owner only: someone else's run is 404 `run_not_found`.
   */
  getWatchLink(runId: string, options?: { signal?: AbortSignal }): Promise<WatchLink>;
}
