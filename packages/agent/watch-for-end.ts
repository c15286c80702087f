import { isTerminalType } from "../events/index.ts";
import { RunFinishedError, type Store } from "../store/index.ts";

/** A running watch: why the run ended (once it has), and how to stop watching. */
export interface EndWatch {
  ended?: RunFinishedError;
  stop(): void;
}

/**
 * Poll the run's newest event every `everyMs` while a stage runs; when it is terminal, abort
 * `controller` (the stage's model calls and tools stop) and remember why in `ended`.
 * Read failures are ignored: the next poll tries again, and appends fail on their own anyway.
 */
export function watchForEnd(
  store: Store,
  runId: string,
  everyMs: number,
  controller: AbortController,
): EndWatch {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const state: EndWatch = {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
  // One read at a time (a timeout rescheduled after each read, not an interval): a slow or
  // throttled store never piles reads up.
  const check = () => {
    store.events
      .last(runId)
      .then(
        (last) => {
          if (last && isTerminalType(last.type) && !state.ended) {
            state.ended = new RunFinishedError(runId, last.type);
            controller.abort(state.ended);
          }
        },
        () => undefined,
      )
      .finally(() => {
        if (!stopped && !state.ended) timer = setTimeout(check, everyMs);
      });
  };
  timer = setTimeout(check, everyMs);
  return state;
}
