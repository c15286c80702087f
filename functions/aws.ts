import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import { Resource } from "sst/resource";
import { type AgentDeps, finalizeRun, runStage } from "../packages/agent/index.ts";
import { authSettings, createAgentDeps, createModelClient, createStore } from "../packages/compose/index.ts";
import { type Config, ConfigError, linkedSecrets, loadConfig } from "../packages/config/index.ts";
import type { AuthSettings } from "../packages/http/index.ts";
import { logFn, meterEvents, powertoolsMeter } from "../packages/observability/index.ts";
import type { Store } from "../packages/store/index.ts";
import { SfnWorkflow } from "../packages/workflow/index.ts";

/**
 * The AWS composition root: builds the parts from the Lambda environment (TABLE_NAME,
 * STATE_MACHINE_ARN, OPENAI_*, …; see ConfigSchema) and the sst.Secret values linked to this
 * function (infra/secrets.ts), which win over the environment. Each entry point in functions/
 * takes what it needs from here once per cold start. The SDK clients use the Lambda role's
 * credentials and region.
 */
export const config: Config = loadConfig({ ...process.env, ...linkedSecrets(Resource) });

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

let store: Store | undefined;
/** The progress store (created on first use, reused across warm invocations); every stored event is metered. */
export function awsStore(): Store {
  store ??= createStore(config, undefined, meterEvents(meter));
  return store;
}

/**
 * The Step Functions adapter.
 * @throws ConfigError when STATE_MACHINE_ARN is not set.
 */
export function awsWorkflow(): SfnWorkflow {
  if (!config.STATE_MACHINE_ARN) throw new ConfigError("STATE_MACHINE_ARN is required on AWS");
  return new SfnWorkflow({ stateMachineArn: config.STATE_MACHINE_ARN });
}

let agent: AgentDeps | undefined;
/** The stage Task's body: run one stage with the configured model (clients reused across warm invocations). */
export function awsRunStage(input: unknown) {
  agent ??= createAgentDeps(config, awsStore(), createModelClient(config), log);
  return runStage(input, agent);
}

/**
 * Auth on AWS: the API Gateway JWT authorizer verifies callers and the API reads its claims'
 * `sub`; where no authorizer ran, a bearer JWT is verified with AUTH_JWT_SECRET /
 * AUTH_JWKS_URL. Stream tokens are signed with STREAM_TOKEN_SECRET (or AUTH_JWT_SECRET).
 * @throws ConfigError for AUTH=off (never allowed off loopback) or missing secrets.
 */
export function awsAuth(): AuthSettings {
  if (config.AUTH === "off") throw new ConfigError("AUTH=off is only allowed on a loopback interface");
  return authSettings(config, {
    upstream: (c) => {
      const sub = (c.env as { event?: APIGatewayProxyEventV2WithJWTAuthorizer } | undefined)?.event
        ?.requestContext?.authorizer?.jwt?.claims?.sub;
      return typeof sub === "string" && sub ? sub : undefined;
    },
  });
}

/** The Finalize body. */
export function awsFinalize(input: unknown) {
  return finalizeRun(input, awsStore(), log);
}
