import type { RunStatus } from "../client/index.ts";

/**
 * Exit codes of the terminal client (docs/client.md), so scripts can branch on the outcome:
 * 0 completed; 1 failed or timed out; 2 usage error or a request the server refused (4xx);
 * 3 the server could not be reached or the stream was lost; 130 cancelled (128 + SIGINT, the
 * shell convention for Ctrl-C); 141 the reader of stdout went away (128 + SIGPIPE, what a
 * pipeline tool killed by a closed pipe reports; the run goes on).
 */
export const EXIT = {
  completed: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  cancelled: 130,
  readerGone: 141,
} as const;

/** The exit code for how a run ended. */
export function exitCodeOf(status: RunStatus): number {
  switch (status) {
    case "completed":
      return EXIT.completed;
    case "cancelled":
      return EXIT.cancelled;
    case "failed":
    case "timed_out":
      return EXIT.failed;
    default:
      // The stream ended before a terminal event: the run's end was not seen.
      return EXIT.unreachable;
  }
}
