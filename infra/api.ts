import { CORS_POLICY } from "../packages/config/cors.ts";
import type { DeployedAgent } from "./agent.ts";
import type { Secrets } from "./secrets.ts";
import { apiThrottle, corsOrigins, deployed, functionDefaults, tableAccess } from "./settings.ts";

/**
 * The API: an API Gateway HTTP API in front of one function (functions/api.ts, the same Hono
 * app as the local stack). The page at `/` (and `/client`, the AutoGen streaming API's address) is public; the /runs routes go through an API
 * Gateway JWT authorizer when AUTH_ISSUER and AUTH_AUDIENCE are set at deploy time (otherwise
 * the function verifies HS256 bearer tokens with AuthJwtSecret). Default route throttling caps
 * the whole API; CORS is answered by API Gateway, preflights included.
 */
export function createApi(deps: {
  table: sst.aws.Dynamo;
  secrets: Secrets;
  stateMachine: aws.sfn.StateMachine;
  streamUrl: $util.Output<string>;
  agent: DeployedAgent;
}) {
  const { table, secrets, stateMachine, streamUrl } = deps;
  const defaults = functionDefaults("api", deps.agent);
  const fn = new sst.aws.Function("ApiHandler", {
    ...defaults,
    handler: "functions/api.handler",
    description: "Stagecast: HTTP API (start, read, list and cancel runs; stream tokens; the page)",
    // API Gateway HTTP APIs give an integration at most 30 s (API Gateway quotas).
    timeout: "29 seconds",
    environment: {
      ...defaults.environment,
      TABLE_NAME: table.name,
      STATE_MACHINE_ARN: stateMachine.arn,
      STREAM_BASE_URL: streamUrl,
    },
    permissions: [
      tableAccess(table, "write"),
      { actions: ["states:StartExecution"], resources: [stateMachine.arn] },
      // Executions of this state machine only: arn:…:execution:<state machine name>:<run id>.
      { actions: ["states:StopExecution"], resources: [executionArns(stateMachine)] },
    ],
    link: [secrets.authJwtSecret, secrets.streamTokenSecret],
  });

  const api = new sst.aws.ApiGatewayV2("Api", {
    cors: corsOrigins.length
      ? {
          allowOrigins: corsOrigins,
          allowMethods: [...CORS_POLICY.allowMethods],
          allowHeaders: [...CORS_POLICY.allowHeaders],
          exposeHeaders: [...CORS_POLICY.exposeHeaders],
          maxAge: `${CORS_POLICY.maxAgeSeconds} seconds`,
        }
      : false,
    accessLog: { retention: "1 month" },
    transform: {
      stage: (args) => {
        args.defaultRouteSettings = {
          throttlingRateLimit: apiThrottle.rateLimit,
          throttlingBurstLimit: apiThrottle.burstLimit,
        };
      },
    },
  });

  const authorizer =
    deployed.AUTH_ISSUER && deployed.AUTH_AUDIENCE
      ? api.addAuthorizer({
          name: "Callers",
          jwt: { issuer: deployed.AUTH_ISSUER, audiences: [deployed.AUTH_AUDIENCE] },
        })
      : undefined;
  const auth = authorizer ? { auth: { jwt: { authorizer: authorizer.id } } } : {};

  api.route("GET /", fn.arn);
  api.route("GET /client", fn.arn);
  api.route("ANY /runs", fn.arn, auth);
  api.route("ANY /runs/{proxy+}", fn.arn, auth);

  return { api, fn, url: api.url, authorizer };
}

/** ARN pattern of every execution of a state machine (Step Functions ARN formats). */
export function executionArns(stateMachine: aws.sfn.StateMachine) {
  return stateMachine.arn.apply((arn) => `${arn.replace(":stateMachine:", ":execution:")}:*`);
}
