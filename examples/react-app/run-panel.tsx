import { type ReactElement, useState } from "react";
import { elapsedMs, formatDuration, type RunProgress } from "../../packages/client/index.ts";
import { type UseRunResult, useRun } from "../../packages/react/index.ts";
import { Timeline } from "./timeline.tsx";

/** How the example names each connection state next to the run's status. */
const CONNECTION_LABEL: Record<UseRunResult["connection"], string> = {
  idle: "",
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  closed: "",
  failed: "stream failed",
};

/** One sentence on how the run ended, or undefined while it runs. */
function outcome(view: RunProgress | undefined): string | undefined {
  if (!view?.terminal || view.endedAt === undefined) return undefined;
  const took = formatDuration(elapsedMs(view, view.endedAt));
  switch (view.terminal) {
    case "run.completed":
      return `Completed in ${took}${view.usage ? `, ${view.usage.totalTokens} tokens` : ""}.`;
    case "run.cancelled":
      return `Cancelled after ${took}.`;
    default:
      return `${view.terminal === "run.timed_out" ? "Timed out" : "Failed"}: ${view.error?.message ?? "no reason given"}`;
  }
}

/**
 * One run, live (useRun): status and connection, progress bar, the stage timeline, the answer
 * as it is written, how it ended, and Cancel while it runs.
 */
export function RunPanel({ runId }: { runId: string }): ReactElement {
  const run = useRun(runId);
  const [cancelError, setCancelError] = useState<string>();
  const running = run.terminal === undefined && run.connection !== "failed";
  const cancel = () => {
    run.cancel().catch((err: unknown) => setCancelError(err instanceof Error ? err.message : String(err)));
  };
  const ended = outcome(run.view);
  return (
    <section className="run" aria-label="Run" data-status={run.status} data-connection={run.connection}>
      <div className="run-head">
        <span className={`status status-${run.status ?? "queued"}`}>{run.status}</span>
        <span className="connection">{CONNECTION_LABEL[run.connection]}</span>
        <code className="run-id">{runId}</code>
        <button type="button" onClick={cancel} disabled={!running}>
          Cancel
        </button>
      </div>
      <div className="progress">
        <progress max={100} value={run.progress} aria-label="Progress" />
        <span>{Math.round(run.progress)}%</span>
        <span className="message">{run.message}</span>
      </div>
      <Timeline stages={run.stages} />
      <h2>Answer</h2>
      <div className="answer" aria-live="polite">
        {run.answer || <span className="hint">The answer appears here as the model writes it.</span>}
      </div>
      {ended ? (
        <p className="outcome" role="status">
          {ended}
        </p>
      ) : null}
      {run.connectionError ? <p className="error">Stream: {run.connectionError.message}</p> : null}
      {cancelError ? <p className="error">Cancel: {cancelError}</p> : null}
    </section>
  );
}
