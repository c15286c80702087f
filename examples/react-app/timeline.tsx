import type { ReactElement } from "react";
import {
  formatDuration,
  type StageState,
  type StageView,
  stageDataLine,
} from "../../packages/client/index.ts";

/** The mark before each stage, by state. */
const MARK: Record<StageState, string> = {
  pending: "○",
  running: "◐",
  retrying: "↻",
  done: "●",
  failed: "✕",
  cancelled: "◌",
};

/**
 * The run's stages in run order (whatever its agent calls them): mark, name, state, duration
 * once done, the stage's newest message and its own data on one line.
 */
export function Timeline({ stages }: { stages: readonly StageView[] }): ReactElement {
  return (
    <ol className="timeline" aria-label="Stages">
      {stages.map((stage) => (
        <li key={stage.stage} data-stage={stage.stage} data-state={stage.state}>
          <span className="mark" aria-hidden="true">
            {MARK[stage.state]}
          </span>
          <span className="name">{stage.stage}</span>
          <span className="state">{stage.state}</span>
          <span className="duration">
            {stage.durationMs === undefined ? "" : formatDuration(stage.durationMs)}
          </span>
          <span className="detail">
            {stage.message}
            {stage.data ? <span className="data">{stageDataLine(stage, 120)}</span> : null}
          </span>
        </li>
      ))}
    </ol>
  );
}
