import { useCallback, useMemo, useRef, useState } from "react";
import type { StagecastClient, StartedRun, StartRunInput } from "../client/index.ts";
import { useStagecastClient } from "./client-context.ts";

/** Options of {@link useStartRun}. */
export interface UseStartRunOptions {
  /** The client to start runs with; default the nearest StagecastProvider's. */
  client?: StagecastClient;
}

/** Per-call options of {@link UseStartRunResult.start}. */
export interface StartOptions {
  /** Makes a retried start return the same run (the server keeps the key 24 h). */
  idempotencyKey?: string;
}

/** What {@link useStartRun} returns. */
export interface UseStartRunResult {
  /**
   * Start a run (POST /runs): `question` (≤ 8,000 characters) and optionally `projectId`,
   * `conversationId`, `params`. Resolves to the 202 answer, or `undefined` when the start
   * failed: it never rejects, so `onClick={() => start(…)}` needs no catch; the failure is in
   * `error`. When called again before an earlier call answered, only the newest call's outcome
   * is kept in the state.
   */
  start(input: StartRunInput, options?: StartOptions): Promise<StartedRun | undefined>;
  /**
   * The id of the newest run started (pass it to `useRun`); undefined before the first start.
   * A start that fails leaves it on the run started before.
   */
  runId: string | undefined;
  /** The newest start's whole 202 answer (status, links, stream token). */
  started: StartedRun | undefined;
  /** True while a start request is in flight. */
  pending: boolean;
  /**
   * Why the newest start failed: StagecastApiError with the API's `code` (`invalid_request`,
   * `too_many_active_runs` with `retryAfterMs`, …), or fetch's TypeError for a network failure.
   * Cleared by the next start.
   */
  error: Error | undefined;
  /** Forget the run, the error and any start still in flight (back to the first render's state). */
  reset(): void;
}

interface StartState {
  started?: StartedRun;
  pending: boolean;
  error?: Error;
}

const IDLE: StartState = { pending: false };

/** `next`, still naming the run started before (a failed or pending start does not hide it). */
const keepRun = (previous: StartState, next: StartState): StartState =>
  previous.started ? { started: previous.started, ...next } : next;

/**
 * Start runs from a component: `const { start, runId, pending, error } = useStartRun()`, then
 * `useRun(runId)` to watch the newest one. Using the same client for both lets the
 * subscription use the stream token the start returned (no extra request).
 * @throws MissingStagecastClientError (during render) when there is no client.
 */
export function useStartRun(options: UseStartRunOptions = {}): UseStartRunResult {
  const client = useStagecastClient(options.client);
  const [state, setState] = useState<StartState>(IDLE);
  // Each call's number; only the newest may write the state (an older answer arriving late
  // must not replace the run the user asked for last).
  const latest = useRef(0);
  const start = useCallback(
    async (input: StartRunInput, startOptions: StartOptions = {}) => {
      const call = ++latest.current;
      setState((previous) => keepRun(previous, { pending: true }));
      try {
        const started = await client.startRun(input, startOptions);
        if (call === latest.current) setState({ started, pending: false });
        return started;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (call === latest.current) setState((previous) => keepRun(previous, { pending: false, error }));
        return undefined;
      }
    },
    [client],
  );
  const reset = useCallback(() => {
    latest.current++;
    setState(IDLE);
  }, []);
  return useMemo(
    () => ({
      start,
      runId: state.started?.runId,
      started: state.started,
      pending: state.pending,
      error: state.error,
      reset,
    }),
    [start, reset, state],
  );
}
