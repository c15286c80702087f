import { useCallback, useEffect, useMemo, useState } from "react";
import {
  InvalidPollUrlError,
  initialRunProgress,
  pollLinkRunId,
  type ReadMode,
  type RunProgress,
  type RunStatus,
  type SafeError,
  type StagecastClient,
  type StageView,
  type TerminalType,
} from "../client/index.ts";
import { useStagecastClient } from "./client-context.ts";
import { type ConnectionState, type RunWatch, watchRun } from "./watch-run.ts";

/** Options of {@link useRun}. */
export interface UseRunOptions {
  /**
   * The client to subscribe with; default the nearest StagecastProvider's. Keep it stable
   * (create it once): a new client object closes the stream and opens a new one.
   */
  client?: StagecastClient;
  /**
   * How to read the run: `sse`, or `long-poll` for a large audience behind a CDN (the client
   * first gets the run's poll link: the owner's call); default the client's `readMode`.
   */
  mode?: ReadMode;
  /**
   * A poll link the run's owner shared (`links.poll` of the client's `getWatchLink`): watch the
   * run it names with long-poll, with no API call and no caller token, e.g.
   * `useRun(undefined, { pollUrl })` on an audience member's page. Without a runId the run is
   * the one in the link; a link that is not a poll link gives `connection: "failed"` with an
   * InvalidPollUrlError, and opens nothing.
   */
  pollUrl?: string;
}

/**
 * What {@link useRun} returns: the run's view as the client's reducer folds it, the state of
 * its stream, and an action. Before the first event (and with no runId) it is an empty run:
 * no stages, progress 0, answer "".
 */
export interface UseRunResult {
  /** The run watched (the hook's argument), or undefined. */
  runId: string | undefined;
  /** The whole fold (also tools, usage, models, question, times); undefined with no runId. */
  view: RunProgress | undefined;
  /** The timeline: the run's own stages in run order, each with state, times, message and data. */
  stages: readonly StageView[];
  /** Overall progress in percent (0–100), never decreasing; 100 once the run completed. */
  progress: number;
  /** The newest event's message (what the run is doing). */
  message: string;
  /** The answer as written so far (llm.delta), the final one after run.completed. */
  answer: string;
  /** The run's status (`queued`, `running`, then how it ended); undefined with no runId. */
  status: RunStatus | undefined;
  /** The terminal event's type once the run ended, e.g. `run.completed`. */
  terminal: TerminalType | undefined;
  /** Why the run failed or timed out (`{ code, message }`), from its terminal event. */
  error: SafeError | undefined;
  /** The subscription's state (`idle` with no runId); see {@link ConnectionState}. */
  connection: ConnectionState;
  /** Consecutive failed connection attempts, for a "reconnecting…" indicator. */
  failures: number;
  /** Why watching failed when `connection` is `failed` (see {@link RunWatch.connectionError}). */
  connectionError: Error | undefined;
  /**
   * Ask the server to cancel the run (POST /runs/{runId}/cancel); the stream then brings
   * run.cancelled. Resolves at once with no runId.
   * @throws StagecastApiError as the client's cancelRun does (409 `run_finished` when the run
   *   had already ended otherwise): await it, or add a catch.
   */
  cancel(): Promise<void>;
}

/** The watch to show for `runId` before its subscription reported anything. */
function startingWatch(runId: string): RunWatch {
  return { runId, view: initialRunProgress(runId), connection: "connecting", failures: 0 };
}

/** The hook's result for `watch` (undefined: nothing watched, or nothing reported yet). */
function resultOf(
  runId: string | undefined,
  watch: RunWatch | undefined,
  cancel: () => Promise<void>,
): UseRunResult {
  const view = watch?.view;
  return {
    runId,
    view,
    stages: view?.stages ?? [],
    progress: view?.progress ?? 0,
    message: view?.message ?? "",
    answer: view?.answer ?? "",
    status: view?.status,
    terminal: view?.terminal,
    error: view?.error,
    connection: watch?.connection ?? "idle",
    failures: watch?.failures ?? 0,
    connectionError: watch?.connectionError,
    cancel,
  };
}

/** The result for a `pollUrl` that names no run: failed at once, nothing opened. */
function badLinkResult(pollUrl: string, cancel: () => Promise<void>): UseRunResult {
  const error = new InvalidPollUrlError(`not a poll link (…/runs/{runId}/poll): "${pollUrl.slice(0, 80)}"`);
  return { ...resultOf(undefined, undefined, cancel), connection: "failed", connectionError: error };
}

/**
 * Watch run `runId` live: subscribes with the client (reconnecting, resuming after the last
 * event, validated against the event schema), folds each event with `applyEvent` and
 * re-renders with the new view. Replays the run from its first event, so it works for a run
 * that is running, queued or long finished. With `mode: "long-poll"` or a shared `pollUrl` it
 * reads the run by long-poll (the scalable mode: docs/client.md), with the same result.
 *
 * The stream is closed (AbortController) when the component unmounts, when `runId`, the
 * client, `mode` or `pollUrl` changes, and by itself after the terminal event. StrictMode's
 * mount, unmount, mount in development opens, closes and reopens it: nothing from the closed
 * one is rendered.
 * @param runId the run to watch; `undefined`/`null`/"" watches nothing (`connection: "idle"`),
 *   or, with `pollUrl`, the run the link names.
 * @throws MissingStagecastClientError (during render) when there is no client.
 */
export function useRun(runId: string | null | undefined, options: UseRunOptions = {}): UseRunResult {
  const client = useStagecastClient(options.client);
  const { mode } = options;
  const pollUrl = options.pollUrl || undefined;
  const id = runId || (pollUrl ? pollLinkRunId(pollUrl) : undefined);
  const [watch, setWatch] = useState<RunWatch | undefined>(undefined);
  useEffect(() => {
    if (!id) return;
    const controller = new AbortController();
    setWatch(startingWatch(id));
    const read = { ...(mode ? { mode } : {}), ...(pollUrl ? { pollUrl } : {}) };
    void watchRun(client, id, { signal: controller.signal, onChange: setWatch, ...read });
    return () => controller.abort();
  }, [client, id, mode, pollUrl]);
  const cancel = useCallback(async () => {
    if (id) await client.cancelRun(id);
  }, [client, id]);
  // Until the effect for a new runId ran, `watch` still holds the previous run's: never show it.
  const starting = useMemo(() => (id === undefined ? undefined : startingWatch(id)), [id]);
  const current = watch !== undefined && watch.runId === id ? watch : starting;
  return useMemo(
    () => (id === undefined && pollUrl ? badLinkResult(pollUrl, cancel) : resultOf(id, current, cancel)),
    [id, pollUrl, current, cancel],
  );
}
