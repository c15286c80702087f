/**
 * AWS cost of a run from measured counts and durations, at list prices for us-east-1 as
 * written in docs/deploy.md §7 (checked 2026-11; DynamoDB after the November 2024 on-demand
 * price cut). Model tokens are not included.
 */
export const PRICES = {
  asOf: "2026-11",
  region: "us-east-1",
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  stateTransition: 0.025 / 1000,
  wru: 0.625 / 1e6,
  rru: 0.125 / 1e6,
  httpApiRequest: 1.0 / 1e6,
} as const;

/** Memory of the deployed functions (GB): infra/workflow.ts (Stage 1024 MB) and infra/settings.ts (others 512 MB). */
export const MEMORY_GB = { stage: 1, stream: 0.5, api: 0.5 } as const;

/** What a run used, measured. */
export interface RunUsage {
  stageMs: number;
  stageInvocations: number;
  /** Validation attempts: each is followed by the ValidationLoop Choice state. */
  validations: number;
  /** How long each watcher's stream was open (ms): ≈ the run's duration. */
  streamMs: number;
  watchers: number;
  /** API requests per run (POST /runs, plus what the client does: a stream token, a GET). */
  apiRequests: number;
  wru: number;
  rru: number;
}

/** One line of the cost table. */
export interface CostLine {
  item: string;
  perRun: string;
  dollarsPer1000Runs: number;
}

/** The cost lines of one run and their total per 1,000 runs ($). */
export function costOf(u: RunUsage): { lines: CostLine[]; totalPer1000: number } {
  // States entered: each stage Task, ValidationLoop after each validation, plus start and end.
  const transitions = u.stageInvocations + u.validations + 2;
  const stageGbS = MEMORY_GB.stage * (u.stageMs / 1000);
  const streamGbS = MEMORY_GB.stream * (u.streamMs / 1000) * u.watchers;
  const apiGbS = MEMORY_GB.api * 0.1 * u.apiRequests;
  const lambdaRequests = u.stageInvocations + u.watchers + u.apiRequests;
  const lines: CostLine[] = [
    {
      item: "Step Functions state transitions",
      perRun: `${transitions}`,
      dollarsPer1000Runs: transitions * PRICES.stateTransition * 1000,
    },
    {
      item: "Lambda compute, Stage (1024 MB)",
      perRun: `${stageGbS.toFixed(2)} GB-s`,
      dollarsPer1000Runs: stageGbS * PRICES.lambdaGbSecond * 1000,
    },
    {
      item: `Lambda compute, Stream (512 MB) × ${u.watchers} watcher(s)`,
      perRun: `${streamGbS.toFixed(2)} GB-s`,
      dollarsPer1000Runs: streamGbS * PRICES.lambdaGbSecond * 1000,
    },
    {
      item: "Lambda compute, API (512 MB, 100 ms assumed)",
      perRun: `${apiGbS.toFixed(2)} GB-s`,
      dollarsPer1000Runs: apiGbS * PRICES.lambdaGbSecond * 1000,
    },
    {
      item: "Lambda requests",
      perRun: `${lambdaRequests}`,
      dollarsPer1000Runs: lambdaRequests * PRICES.lambdaRequest * 1000,
    },
    {
      item: "API Gateway HTTP API requests",
      perRun: `${u.apiRequests}`,
      dollarsPer1000Runs: u.apiRequests * PRICES.httpApiRequest * 1000,
    },
    { item: "DynamoDB writes", perRun: `${u.wru} WRU`, dollarsPer1000Runs: u.wru * PRICES.wru * 1000 },
    {
      item: "DynamoDB reads (strongly consistent)",
      perRun: `${u.rru} RRU`,
      dollarsPer1000Runs: u.rru * PRICES.rru * 1000,
    },
  ];
  return { lines, totalPer1000: lines.reduce((sum, l) => sum + l.dollarsPer1000Runs, 0) };
}
