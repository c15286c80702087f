import { log, parts, withMetrics } from "./aws.ts";

/**
 * Sweep Lambda, for a schedule (e.g. every 5 minutes): ends runs whose workflow vanished
 * without a terminal event (see sweepSilentRuns). On AWS the Catch path and the EventBridge
 * rule normally end every run; this is the backstop for the cases they miss.
 */
export const handler = withMetrics(async () => {
  const result = await parts.sweep();
  if (result.timedOut.length) log({ msg: "ended silent runs", ...result });
  return result;
});
