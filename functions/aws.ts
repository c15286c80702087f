import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context as LambdaContext } from "aws-lambda";
import { Resource } from "sst/resource";
import { type AgentDefinition, bundledAgentModule, setAgentModule } from "../packages/agent/index.ts";
import { compose, type Parts } from "../packages/compose/index.ts";
import { type Config, ConfigError, linkedSecrets, loadConfig } from "../packages/config/index.ts";
import { logFn, meterEvents, powertoolsMeter } from "../packages/observability/index.ts";
import { SfnWorkflow } from "../packages/workflow/index.ts";

/**
 * The AWS composition root: builds the parts from the Lambda environment (TABLE_NAME,
 * STATE_MACHINE_ARN, OPENAI_*, …; see ConfigSchema) and the sst.Secret values linked to this
 * function (infra/secrets.ts), which win over the environment, and hands them to `compose`,
 * the same composition function the local root calls. Each entry point in functions/ takes
 * what it needs from `parts`. The SDK clients use the Lambda role's
 * credentials and region.
 */
export const config: Config = loadConfig({ ...process.env, ...linkedSecrets(Resource) });

/**
 * Set by esbuild's `define` to the deployed agent module's absolute path (infra/agent.ts,
 * `AGENT` in sst.config.ts); undeclared in a bundle built without it.
 */
declare const __STAGECAST_AGENT_MODULE__: string | undefined;

/**
 * The deployed agent's definition (the module's default export), or undefined for the built-in
 * agent. With the constant substituted, `import()` of that string is bundled like a static
 * import: the module is part of this bundle, and the state machine was generated from the same
 * module at deploy time. Checked by compose on first use. Its tool workers import the module's
 * own bundle (tool-workers/<name>.mjs beside this handler, infra/tool-workers.ts).
 */
export const agent: AgentDefinition | undefined =
  typeof __STAGECAST_AGENT_MODULE__ === "string"
    ? ((await import(/* @vite-ignore */ __STAGECAST_AGENT_MODULE__)) as { default: AgentDefinition }).default
    : undefined;
if (typeof __STAGECAST_AGENT_MODULE__ === "string") {
  setAgentModule(bundledAgentModule(__STAGECAST_AGENT_MODULE__, import.meta.url));
}

/** The structured log function for this function's invocations. */
export const log = logFn();

/** CloudWatch metrics as EMF lines (namespace POWERTOOLS_METRICS_NAMESPACE, set by infra). */
export const meter = powertoolsMeter();

/**
 * Wrap a handler so the metrics it buffered are published when its invocation ends, thrown
 * error or not (Powertools buffers per process; Lambda runs one invocation at a time).
 */
export function withMetrics<A extends unknown[], R>(handler: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    try {
      return await handler(...args);
    } finally {
      meter.publish();
    }
  };
}

/**
 * The parts, built once per cold start and only as far as this function's entry point uses
 * them: the stage function never builds the workflow (it has no STATE_MACHINE_ARN).
 * - Step Functions is the workflow (STATE_MACHINE_ARN; ConfigError when unset).
 * - Auth: the API Gateway JWT authorizer verifies callers and the API reads its claims' `sub`;
 *   where no authorizer ran, a bearer JWT is verified with AUTH_JWT_SECRET / AUTH_JWKS_URL.
 *   Stream tokens are signed with STREAM_TOKEN_SECRET (or AUTH_JWT_SECRET).
 * - Streams pad by default (STREAM_FLUSH `pad`) through the Function URL's buffering.
 * - Every stored event is metered.
 * @throws ConfigError (at first use of a part) for AUTH=off (never allowed off loopback),
 *   missing secrets or a missing STATE_MACHINE_ARN.
 */
export const parts: Parts = compose(config, {
  agent,
  workflow: () => {
    if (!config.STATE_MACHINE_ARN) throw new ConfigError("STATE_MACHINE_ARN is required on AWS");
    return new SfnWorkflow({ stateMachineArn: config.STATE_MACHINE_ARN });
  },
  authOffAllowed: false,
  upstreamCaller: (c) => {
    const sub = (c.env as { event?: APIGatewayProxyEventV2WithJWTAuthorizer } | undefined)?.event
      ?.requestContext?.authorizer?.jwt?.claims?.sub;
    return typeof sub === "string" && sub ? sub : undefined;
  },
  defaultFlush: "pad",
  log,
  meter,
  onEventStored: meterEvents(meter),
  // streamHandle passes the Lambda context as `env.context`.
  remainingMs: (c) => (c.env as { context?: LambdaContext } | undefined)?.context?.getRemainingTimeInMillis(),
});
