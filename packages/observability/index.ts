/**
 * packages/observability: structured logs (Powertools Logger) and metrics (Powertools Metrics,
 * EMF on Lambda). Above packages/events only. Other packages import from here only; this list
 * is what they use.
 */
export { type LogFn, logFn, logger } from "./logger.ts";
export { METRIC, type Meter, meterEvents, powertoolsMeter } from "./metrics.ts";
