import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { RunEvent } from "../events/index.ts";

/** The metric names Stagecast emits (CloudWatch namespace POWERTOOLS_METRICS_NAMESPACE, `Stagecast` on AWS). */
export const METRIC = {
  RunsStarted: "RunsStarted",
  RunsCompleted: "RunsCompleted",
  RunsFailed: "RunsFailed",
  RunsCancelled: "RunsCancelled",
  RunsTimedOut: "RunsTimedOut",
  EventsAppended: "EventsAppended",
  /** Per stage (dimension `stage`), from each stage.completed event's durationMs. */
  StageDuration: "StageDuration",
  StreamConnections: "StreamConnections",
  StreamDuration: "StreamDuration",
} as const;

/** One of {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * Where parts record metrics, so packages do not depend on Powertools. `count` and
 * `durationMs` buffer; `publish` writes what was buffered (one EMF line) and is called once per
 * invocation. A metric with dimensions is written at once, on its own line.
 */
export interface Meter {
  count(name: MetricName, value?: number): void;
  durationMs(name: MetricName, ms: number, dimensions?: Record<string, string>): void;
  publish(): void;
}

/** A {@link Meter} that records nothing: the local stack and tests. */
export const noMeter: Meter = { count() {}, durationMs() {}, publish() {} };

/**
 * A {@link Meter} over Powertools for AWS Lambda Metrics, which writes CloudWatch Embedded
 * Metric Format lines to stdout: CloudWatch turns them into metrics with no API calls from the
 * function (chosen for that, and because AWS maintains it alongside the Logger we already use).
 */
export function powertoolsMeter(metrics: Metrics = new Metrics({ defaultDimensions: {} })): Meter {
  return {
    count: (name, value = 1) => {
      metrics.addMetric(name, MetricUnit.Count, value);
    },
    durationMs: (name, ms, dimensions) => {
      if (!dimensions) {
        metrics.addMetric(name, MetricUnit.Milliseconds, ms);
        return;
      }
      const single = metrics.singleMetric();
      single.addDimensions(dimensions);
      single.addMetric(name, MetricUnit.Milliseconds, ms);
    },
    publish: () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}

/** Terminal event type → the runs metric it counts. */
const TERMINAL_METRIC: Partial<Record<RunEvent["type"], MetricName>> = {
  "run.started": METRIC.RunsStarted,
  "run.completed": METRIC.RunsCompleted,
  "run.failed": METRIC.RunsFailed,
  "run.cancelled": METRIC.RunsCancelled,
  "run.timed_out": METRIC.RunsTimedOut,
};

/**
 * The store's onEventStored hook for a meter: every event stored counts in EventsAppended, run
 * lifecycle events count runs started and ended by outcome, stage.completed records the
 * stage's duration. Derived from the log itself, so every writer (stage, Finalize, cancel,
 * sweep) is counted the same way, exactly once per stored event.
 */
export function meterEvents(meter: Meter): (event: RunEvent) => void {
  return (event) => {
    meter.count(METRIC.EventsAppended);
    const runs = TERMINAL_METRIC[event.type];
    if (runs) meter.count(runs);
    if (event.type === "stage.completed" && event.stage) {
      meter.durationMs(METRIC.StageDuration, event.data.durationMs, { stage: event.stage });
    }
  };
}
