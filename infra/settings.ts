import { type Config, ConfigSchema, loadConfig } from "../packages/config/config.ts";
import { parseOrigins } from "../packages/config/cors.ts";
import { SECRET_LINKS } from "../packages/config/secret-links.ts";
import { agentBundling, type DeployedAgent } from "./agent.ts";
import { agentFileCopies } from "./agent-files.ts";

/** The production stage: point-in-time recovery, deletion protection, resources retained. */
export const isProduction = $app.stage === "production";

/**
 * Configuration keys infra sets itself or that have no meaning on AWS: never copied from the
 * deploying shell. Secrets come from sst.Secret links, CORS from the edge (API Gateway and the
 * Function URL), TABLE_NAME / STATE_MACHINE_ARN / STREAM_BASE_URL from the created resources.
 */
const INFRA_OWNED = new Set<string>([
  "PORT",
  "HOST",
  "DATA_DIR",
  "TABLE_NAME",
  "STATE_MACHINE_ARN",
  "STREAM_BASE_URL",
  "CORS_ORIGINS",
  "OFFLINE_MODEL_TOKENS_PER_SECOND",
  "RUN_SWEEP_MS",
  // The deployed agent is infra's (the AGENT setting in sst.config.ts): bundled, never read at run time.
  "STAGECAST_AGENT",
  ...Object.values(SECRET_LINKS),
]);

/**
 * Function environment taken from the deploying shell: every ConfigSchema key that is set
 * (OPENAI_BASE_URL, OPENAI_MODEL, MAX_ACTIVE_RUNS, AUTH_ISSUER, …) except {@link INFRA_OWNED}.
 * Validated here with the functions' own schema, so a bad value fails `sst deploy` instead of
 * every cold start.
 * @throws ConfigError naming the invalid variable.
 */
export function deployEnvironment(
  env: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "" && !INFRA_OWNED.has(key)) out[key] = value;
  }
  loadConfig(out);
  return out;
}

/** The deploy-time configuration the functions will see (defaults applied), for infra's own checks. */
export const deployed: Config = loadConfig(deployEnvironment());

/** Origins allowed by CORS at API Gateway and the Function URL (CORS_ORIGINS in the deploying shell). */
export const corsOrigins = parseOrigins(process.env.CORS_ORIGINS ?? "");

/** STAGECAST_TRACING=active turns on X-Ray tracing of every function and the state machine. */
export const tracing = process.env.STAGECAST_TRACING === "active";

/**
 * API Gateway default route throttling (requests per second, burst). Per-principal fairness is
 * MAX_ACTIVE_RUNS; this caps the whole API against floods.
 */
export const apiThrottle = {
  rateLimit: Number(process.env.STAGECAST_API_RATE_LIMIT ?? 50),
  burstLimit: Number(process.env.STAGECAST_API_BURST_LIMIT ?? 100),
};

/**
 * Reserved concurrency of the stream function (instances; STAGECAST_STREAM_RESERVED_CONCURRENCY
 * in the deploying shell, default 200). An SSE watcher holds one instance for as long as it
 * watches (a long-poll only while it waits), and every function of the account shares one pool
 * (default quota 1,000 concurrent executions, Lambda quotas). Reserving 200 for the stream both
 * guarantees it that many and stops it at that many, so the other 800 stay for the stage,
 * finalize, API and trigger functions; the scalable read mode serves a large audience within it
 * (docs/capacity.md).
 * @throws Error at deploy time for a value that is not a positive integer.
 */
export const streamReservedConcurrency = positiveInt(
  "STAGECAST_STREAM_RESERVED_CONCURRENCY",
  process.env.STAGECAST_STREAM_RESERVED_CONCURRENCY ?? "200",
);

/** `raw` as a positive integer. @throws Error naming `name` otherwise. */
function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
}

/** A Function URL / Lambda timeout ceiling (s): Lambda's maximum is 900 s (Lambda quotas). */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * Settings every Stagecast function shares: Node 24 on arm64 (about 20% cheaper per GB-s
 * than x86_64 at list price), JSON logs (Powertools writes JSON lines), ESM bundles (source
 * maps go to SST's asset bucket, not into the code zip), the deployed agent's module bundled
 * (infra/agent.ts: every function composes the same agent) with its data files copied beside
 * the handler (`copyFiles`, infra/agent-files.ts; a function with files of its own adds them to
 * these), the deploy-time environment, and the Powertools service name and metrics namespace.
 */
export function functionDefaults(component: string, agent: DeployedAgent) {
  return {
    runtime: "nodejs24.x" as const,
    architecture: "arm64" as const,
    memory: "512 MB" as const,
    logging: {
      format: "json" as const,
      retention: isProduction ? ("3 months" as const) : ("1 week" as const),
    },
    nodejs: { format: "esm" as const, sourcemap: true, esbuild: agentBundling(agent) },
    // The agent module's data files (a CSV its tool reads), next to the handler bundle: infra/agent-files.ts.
    copyFiles: agentFileCopies(agent, $app.stage, $cli.paths.root),
    environment: {
      ...deployEnvironment(),
      POWERTOOLS_SERVICE_NAME: `stagecast-${component}`,
      POWERTOOLS_METRICS_NAMESPACE: "Stagecast",
      POWERTOOLS_TRACE_ENABLED: String(tracing),
    },
    // Active tracing needs the role to write segments (AWS managed policy for X-Ray).
    ...(tracing
      ? {
          policies: ["arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"],
          transform: { function: { tracingConfig: { mode: "Active" } } },
        }
      : {}),
  };
}

/** DynamoDB actions of a reader (the stream function): items and queries, nothing else. */
export const TABLE_READ_ACTIONS = ["dynamodb:GetItem", "dynamodb:Query"];
/** DynamoDB actions of a writer: the reads plus the three item writes the store uses. */
export const TABLE_WRITE_ACTIONS = [
  ...TABLE_READ_ACTIONS,
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
];

/** A table permission for sst.aws.Function `permissions` (the table only: it has no indexes). */
export function tableAccess(table: sst.aws.Dynamo, mode: "read" | "write") {
  return { actions: mode === "read" ? TABLE_READ_ACTIONS : TABLE_WRITE_ACTIONS, resources: [table.arn] };
}
