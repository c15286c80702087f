import type { EventInput } from "../events/index.ts";
import type { RunLog } from "../store/index.ts";
import { overallProgress, type ProgressBand } from "./progress.ts";

/**
 * The events of one stage attempt, appended to the run's log with progress that never
 * decreases: each stage owns a band of the run's 0–100 (its weight's share, see stageBands in
 * packages/agent/progress.ts), and an event's progress is the higher of what it asks for and
 * what the run has already shown.
 */
export class StageEvents {
  readonly attempt: number;
  readonly #log: RunLog;
  readonly #band: ProgressBand;
  #progress: number;

  /**
   * @param band the stage's share of the run's progress (percent), see stagePosition.
   * @param progress the run's progress so far (0–100), from its newest event.
   */
  constructor(log: RunLog, band: ProgressBand, attempt: number, progress: number) {
    this.#log = log;
    this.#band = band;
    this.attempt = attempt;
    this.#progress = progress;
  }

  /**
   * Append one event, its progress raised to the run's progress so far.
   * @throws StoreError subclasses (RunFinishedError once the run has ended).
   */
  readonly emit = async (input: EventInput): Promise<void> => {
    this.#progress = Math.max(this.#progress, input.progress);
    await this.#log.append({ ...input, progress: this.#progress });
  };

  /** Overall progress (0–100) at `fraction` (0–1) of this stage's band, never below the run's so far. */
  readonly at = (fraction: number): number => Math.max(this.#progress, overallProgress(this.#band, fraction));
}
