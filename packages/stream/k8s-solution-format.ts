import type { Ended, Heartbeat, Reconnect, RunEvent, SseMessage, TerminalType } from "../events/index.ts";

/**
 * `?format=k8s-solution`: the Kubernetes diagnosis agent's streaming API (`POST
 * /get_solution_stream`, docs/api.md §11, docs/origins.md seed 000). Its clients read `data:`
 * lines, `json.loads` each, and switch on `status`:
 * - `{"status": "analyzing", "elapsed": <s>}` every 2 s while the run works ({@link SOLUTION_TICK_MS});
 * - `{"status": "complete", "solution": <answer>}` once, at the end;
 * - `{"status": "error", "error": <message>, "code": <code>}` instead, for a run that failed,
 *   was cancelled or timed out (such a client has no branch for it, skips it, and its loop ends
 *   with the stream).
 * Every frame also carries `run_id`. Stored events other than the terminal one have no frame:
 * that API showed only the elapsed time. The `analyzing` frames are clock ticks, not stored
 * events; each carries `id: <seq of the last event read>`, so a reconnect with Last-Event-ID
 * (or `?after=`) resumes after everything this format has already shown, and misses nothing:
 * the only stored event it shows is the terminal one, which has `id: <its seq>`.
 *
 * The registry (stream-format.ts) checks this object against `StreamFormat`; it does not
 * import that module's types, which would make an import cycle.
 */

/** How often the `analyzing` frame is sent (ms): every 2 s, whatever the run does, as that API did. */
export const SOLUTION_TICK_MS = 2000;

/** The `status` values of the frames a stored event can produce; the `types` filter takes these names. */
export const K8S_SOLUTION_TYPES = ["analyzing", "complete", "error"] as const;

/**
 * The JSON of one frame's `data:` line. `elapsed`: whole seconds since the run was created
 * (rounded); `progress`: the run's percent (0–100) at the last event read; `last_seq`: the
 * seq a client resumes after; `retry_ms`: the reconnection delay (ms).
 */
export type SolutionFrame =
  | { status: "analyzing"; elapsed: number; run_id: string; stage?: string; progress: number }
  | { status: "complete"; solution: string; run_id: string }
  | { status: "error"; error: string; code: string; run_id: string }
  | { status: "reconnect"; run_id: string; last_seq: number; retry_ms: number; reason: Reconnect["reason"] }
  | { status: "ended"; run_id: string; last_seq: number; terminal: TerminalType };

const message = (frame: SolutionFrame, id?: number): SseMessage => ({
  ...(id === undefined ? {} : { id: String(id) }),
  data: JSON.stringify(frame),
});

/**
 * The frame for a terminal event (`complete` with the answer; `error` with the safe message and
 * code, `cancelled` for a cancelled run); undefined for any other event, which this format does
 * not show.
 */
export function toSolutionFrame(event: RunEvent): SolutionFrame | undefined {
  const run_id = event.runId;
  switch (event.type) {
    case "run.completed":
      return { status: "complete", solution: event.data.answer, run_id };
    case "run.failed":
    case "run.timed_out":
      return { status: "error", error: event.data.error.message, code: event.data.error.code, run_id };
    case "run.cancelled":
      return { status: "error", error: event.message, code: "cancelled", run_id };
    default:
      return undefined;
  }
}

/** The `analyzing` tick for a heartbeat, with `id:` = the seq of the last event read. */
function tick(beat: Heartbeat): SseMessage {
  return message(
    {
      status: "analyzing",
      elapsed: Math.round(beat.elapsedMs / 1000),
      run_id: beat.runId,
      ...(beat.stage === undefined ? {} : { stage: beat.stage }),
      progress: beat.progress,
    },
    beat.lastSeq,
  );
}

/** One stream's mapping; it keeps no state, so every stream shares it. */
const SESSION = {
  /** An `analyzing` tick at once (elapsed since the run was created), carrying `retry:`. */
  opening: (beat: Heartbeat, retryMs: number): readonly SseMessage[] => [{ ...tick(beat), retry: retryMs }],
  frames: (event: RunEvent): readonly SseMessage[] => {
    const frame = toSolutionFrame(event);
    return frame ? [message(frame, event.seq)] : [];
  },
  heartbeat: (beat: Heartbeat): readonly SseMessage[] => [tick(beat)],
  reconnect: (r: Reconnect): readonly SseMessage[] => [
    {
      ...message(
        { status: "reconnect", run_id: r.runId, last_seq: r.lastSeq, retry_ms: r.retryMs, reason: r.reason },
        r.lastSeq,
      ),
      retry: r.retryMs,
    },
  ],
  ended: (e: Ended): readonly SseMessage[] => [
    message({ status: "ended", run_id: e.runId, last_seq: e.lastSeq, terminal: e.terminal }),
  ],
};

/**
 * The format object the registry lists (a `StreamFormat`): its heartbeat is the 2-s tick,
 * sent every {@link SOLUTION_TICK_MS} whether or not events arrive (`tickMs`, honoured by the tail).
 */
export const K8S_SOLUTION_FORMAT = {
  name: "k8s-solution" as const,
  types: K8S_SOLUTION_TYPES,
  typeOf: (event: RunEvent): string => toSolutionFrame(event)?.status ?? "analyzing",
  tickMs: SOLUTION_TICK_MS,
  open: () => SESSION,
};
