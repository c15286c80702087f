import {
  applyEvent,
  initialRunProgress,
  type ReadMode,
  type RunProgress,
  type StagecastClient,
  type StreamState,
} from "../client/index.ts";

/**
 * Where a run's subscription is:
 * - `idle`: no run to watch (no runId yet);
 * - `connecting`, `open`, `reconnecting`: as the client's `onState` reports them (a reconnect
 *   resumes after the last event seen, so nothing is lost or repeated);
 * - `closed`: the subscription ended by itself, after the run's terminal event (or the stream
 *   said the run had ended before the cursor);
 * - `failed`: it ended with an error (see {@link RunWatch.connectionError}).
 */
export type ConnectionState = "idle" | StreamState | "closed" | "failed";

/**
 * One moment of a watched run, as React renders it. Every value is a new object when anything
 * changed (`view`, its `stages` and `tools` and each entry of them), so components and memos
 * that compare by identity see the change.
 */
export interface RunWatch {
  runId: string;
  /** The run as folded so far by the client's `applyEvent` (timeline, progress, answer, outcome). */
  view: RunProgress;
  connection: ConnectionState;
  /** Consecutive failed connection attempts (0 while the stream is open). */
  failures: number;
  /**
   * Why the subscription failed, when `connection` is `failed`: StagecastApiError for a refusal
   * a retry cannot fix (e.g. `run_not_found`), StagecastConnectionError after the client's
   * `maxRetries`, StagecastProtocolError for an event that fails the schema.
   */
  connectionError?: Error;
}

/** Options of {@link watchRun}. */
export interface WatchRunOptions {
  /** Ends the watch: the stream is closed at once and `onChange` is not called again. */
  signal: AbortSignal;
  /** Called with a new {@link RunWatch} on each event and each change of connection state. */
  onChange(watch: RunWatch): void;
  /**
   * How to read the run: `sse` or `long-poll` (for a large audience behind a CDN); default the
   * client's `readMode`. See the client's `ReadMode`.
   */
  mode?: ReadMode;
  /**
   * A poll link the run's owner shared (`links.poll` of the client's `getWatchLink`): follow the
   * run with long-poll from it, with no API call and no caller token. It must name `runId`
   * (`pollLinkRunId(pollUrl)` reads it), else the watch fails with InvalidPollUrlError.
   */
  pollUrl?: string;
}

/** `view` copied down to each stage and tool (the fold mutates its own copy in place). */
function snapshot(view: RunProgress): RunProgress {
  return {
    ...view,
    stages: view.stages.map((stage) => ({ ...stage })),
    tools: view.tools.map((tool) => ({ ...tool })),
    ...(view.models ? { models: [...view.models] } : {}),
  };
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * Follow run `runId` from its first event with `client.subscribe` (SSE, or long-poll with
 * `mode: "long-poll"` or a shared `pollUrl`), folding each event with `applyEvent` and
 * reporting every change to `onChange`; the React-free core of `useRun`.
 * Why separate: the fold, the connection states and the abort rules are plain async code,
 * tested without a DOM; the hook only ties them to a component's lifetime.
 * @returns the last {@link RunWatch} once the subscription ended (terminal event, failure or
 *   abort). It never rejects: a failure is `connection: "failed"` with `connectionError`
 *   (also an InvalidPollUrlError for a `pollUrl` that is not this run's poll link).
 */
export async function watchRun(
  client: StagecastClient,
  runId: string,
  { signal, onChange, mode, pollUrl }: WatchRunOptions,
): Promise<RunWatch> {
  const view = initialRunProgress(runId);
  let watch: RunWatch = { runId, view: snapshot(view), connection: "connecting", failures: 0 };
  const report = (change: Partial<RunWatch>) => {
    watch = { ...watch, ...change };
    if (!signal.aborted) onChange(watch);
  };
  try {
    const events = client.subscribe(runId, {
      signal,
      onState: (connection, failures) => report({ connection, failures }),
      ...(mode ? { mode } : {}),
      ...(pollUrl ? { pollUrl } : {}),
    });
    for await (const event of events) {
      applyEvent(view, event);
      report({ view: snapshot(view) });
    }
    report({ connection: "closed" });
  } catch (err) {
    report({ connection: "failed", connectionError: asError(err) });
  }
  return watch;
}
