import { describe, expect, it } from "vitest";
import { TERMINAL_TYPES } from "../../packages/events/index.ts";
import { definitionJson, FINALIZED_STATUSES } from "../../packages/workflow/definition.ts";
import { DEFAULT_AGENT as defaultAgent } from "../support/agents.ts";
import { allowedOn, loadSynthesis } from "./synthesis.ts";

const ci = loadSynthesis("ci");
const production = loadSynthesis("production");

const TABLE = "aws:dynamodb/table:Table";
const HANDLERS = {
  ApiHandler: "functions/api.handler",
  Stream: "functions/stream.handler",
  Stage: "functions/stage.handler",
  Finalize: "functions/finalize.handler",
  Trigger: "functions/trigger.handler",
  SweepHandler: "functions/sweep.handler",
} as const;

const tableArn = (s: typeof ci) =>
  `arn:aws:dynamodb:us-east-1:123456789012:table/${s.one(TABLE, "ProgressTable").inputs.name}`;
const stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:Workflow";

describe("synthesized stack (sst.config.ts under Pulumi mocks)", () => {
  it("bundles every handler with the real esbuild build and deploys it as that function's code", () => {
    for (const [name, handler] of Object.entries(HANDLERS)) {
      const build = ci.builds[name];
      expect(build?.errors, name).toEqual([]);
      expect(build?.bytes, name).toBeGreaterThan(10_000);
      const fn = ci.fn(name).inputs;
      expect(fn.handler).toBe(handler);
      expect(fn.runtime).toBe("nodejs24.x");
      expect(fn.architectures).toEqual(["arm64"]);
    }
    expect(ci.all("aws:lambda/function:Function")).toHaveLength(Object.keys(HANDLERS).length);
  });

  it("schedules the sweep every 5 minutes with EventBridge Scheduler (sst.aws.CronV2), targeting the sweep function", () => {
    const schedule = production.one("aws:scheduler/schedule:Schedule", "SweepSchedule").inputs as {
      scheduleExpression: string;
      state: string;
      target: { arn: string };
    };
    expect(schedule.scheduleExpression).toBe("rate(5 minutes)");
    expect(schedule.state).toBe("ENABLED");
    expect(schedule.target.arn).toMatch(/:function:stagecast-production-SweepHandlerFunction-/);
    // The deprecated Cron's EventBridge rule is gone.
    expect(production.all("aws:cloudwatch/eventRule:EventRule").map((r) => r.name)).not.toContain(
      "SweepRule",
    );
  });

  it("streams from a Function URL in RESPONSE_STREAM mode, with CORS at the URL and a timeout above the stream deadline", () => {
    const url = ci.one("aws:lambda/functionUrl:FunctionUrl", "StreamUrl").inputs;
    expect(url.invokeMode).toBe("RESPONSE_STREAM");
    expect(url.authorizationType).toBe("NONE");
    expect(url.cors).toMatchObject({
      allowOrigins: ["https://app.example.com"],
      allowMethods: ["GET", "POST"],
    });
    const fn = ci.fn("Stream").inputs;
    const env = (fn.environment as { variables: Record<string, string> }).variables;
    const deadlineSeconds = Number(env.STREAM_MAX_DURATION_MS) / 1000;
    expect(fn.timeout as number).toBeGreaterThan(deadlineSeconds);
    expect(fn.timeout as number).toBeLessThanOrEqual(900);
    expect(env.CORS_ORIGINS).toBeUndefined();
    // No CORS configured at deploy time: none at the URL either.
    expect(production.one("aws:lambda/functionUrl:FunctionUrl", "StreamUrl").inputs.cors).toBeUndefined();
  });

  it("creates the table with pk/sk string keys, on-demand billing and TTL on expiresAt; PITR and deletion protection only in production", () => {
    for (const s of [ci, production]) {
      const table = s.one(TABLE, "ProgressTable").inputs;
      expect(table).toMatchObject({
        hashKey: "pk",
        rangeKey: "sk",
        billingMode: "PAY_PER_REQUEST",
        attributes: [
          { name: "pk", type: "S" },
          { name: "sk", type: "S" },
        ],
        ttl: { attributeName: "expiresAt", enabled: true },
        globalSecondaryIndexes: [],
      });
    }
    expect(ci.one(TABLE, "ProgressTable").inputs).toMatchObject({
      pointInTimeRecovery: { enabled: false },
      deletionProtectionEnabled: false,
    });
    expect(production.one(TABLE, "ProgressTable").inputs).toMatchObject({
      pointInTimeRecovery: { enabled: true },
      deletionProtectionEnabled: true,
    });
    expect(production.app).toMatchObject({ removal: "retain", protect: true });
    expect(ci.app).toMatchObject({ removal: "remove", protect: false });
  });

  it("defines the state machine as the ASL generated from the default agent, with the deployed function ARNs substituted", () => {
    const sm = ci.one("aws:sfn/stateMachine:StateMachine", "Workflow").inputs;
    expect(sm.type).toBe("STANDARD");
    expect(sm.definition).toBe(
      definitionJson(defaultAgent, {
        stageFunctionArn: ci.functionArn("Stage"),
        finalizeFunctionArn: ci.functionArn("Finalize"),
      }),
    );
    expect(sm.loggingConfiguration).toMatchObject({
      level: "ERROR",
      logDestination: expect.stringMatching(/:\*$/),
    });
    expect(sm.tracingConfiguration).toEqual({ enabled: true });
    // The stage function lives as long as the agent's longest stage Task (execution, 900 s).
    expect(ci.fn("Stage").inputs.timeout).toBe(Math.max(...defaultAgent.stages.map((s) => s.timeoutSeconds)));
  });

  it("lets the state machine invoke the stage and Finalize functions and nothing else", () => {
    const statements = ci.statements("WorkflowRole");
    expect(allowedOn(statements, ci.functionArn("Stage"))).toContain("lambda:InvokeFunction");
    expect(allowedOn(statements, ci.functionArn("Finalize"))).toContain("lambda:InvokeFunction");
    for (const other of ["ApiHandler", "Stream", "Trigger", "SweepHandler"]) {
      expect(allowedOn(statements, ci.functionArn(other)), other).not.toContain("lambda:InvokeFunction");
    }
    const lambdaActions = statements.flatMap((s) => s.Action).filter((a) => a.startsWith("lambda:"));
    expect(lambdaActions).toEqual(["lambda:InvokeFunction"]);
    expect(statements.flatMap((s) => s.Action).some((a) => a.startsWith("dynamodb:"))).toBe(false);
  });

  it("grants table writes to the writers, and starting executions to the API and the stream (the AutoGen API's POST /ask-stream)", () => {
    const table = tableArn(ci);
    const writes = [
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ];
    for (const writer of ["Stage", "Finalize", "ApiHandler", "Trigger", "SweepHandler", "Stream"]) {
      expect(allowedOn(ci.statements(`${writer}Role`), table), writer).toEqual(writes);
    }
    const api = ci.statements("ApiHandlerRole");
    expect(allowedOn(api, stateMachineArn)).toContain("states:StartExecution");
    expect(allowedOn(api, "arn:aws:states:us-east-1:123456789012:execution:Workflow:01JRUN")).toContain(
      "states:StopExecution",
    );
    const stream = ci.statements("StreamRole");
    expect(allowedOn(stream, stateMachineArn)).toEqual(["states:StartExecution"]);
    expect(allowedOn(stream, "arn:aws:states:us-east-1:123456789012:execution:Workflow:01JRUN")).toEqual([]);
    expect(allowedOn(ci.statements("StageRole"), stateMachineArn)).toEqual([]);
  });

  it("links each secret only to the functions that use it", () => {
    const names = (fn: string) =>
      Object.keys(ci.links(fn))
        .filter((k) => k !== "App")
        .sort();
    expect(names("Stage")).toEqual(["OpenaiApiKey"]);
    expect(names("ApiHandler")).toEqual(["AuthJwtSecret", "StreamTokenSecret"]);
    expect(names("Stream")).toEqual(["AuthJwtSecret", "StreamTokenSecret"]);
    for (const fn of ["Finalize", "Trigger", "SweepHandler"]) expect(names(fn), fn).toEqual([]);
    expect(ci.links("Stage").OpenaiApiKey?.value).toBe(ci.secrets.OpenaiApiKey);
  });

  it("sends this state machine's FAILED, TIMED_OUT and ABORTED executions to Finalize", () => {
    const rule = ci.one("aws:cloudwatch/eventRule:EventRule", "defaultSubscriberWorkflowEndedRule").inputs;
    expect(rule.eventBusName).toBe("default");
    expect(JSON.parse(rule.eventPattern as string)).toEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { status: [...FINALIZED_STATUSES], stateMachineArn: [stateMachineArn] },
    });
    const target = ci.one(
      "aws:cloudwatch/eventTarget:EventTarget",
      "defaultSubscriberWorkflowEndedTarget",
    ).inputs;
    expect(target.arn).toBe(ci.functionArn("Finalize"));
    // Every status that ends an execution without a terminal event maps to a terminal event type.
    expect(FINALIZED_STATUSES.length).toBeLessThan(TERMINAL_TYPES.length);
  });

  it("subscribes the trigger to the queue with partial batch responses and a dead-letter queue", () => {
    const [mapping] = ci.all("aws:lambda/eventSourceMapping:EventSourceMapping");
    const queue = ci.one("aws:sqs/queue:Queue", "RunRequestsQueue").inputs;
    const dlq = ci.one("aws:sqs/queue:Queue", "RunRequestsDlqQueue").inputs;
    expect(mapping?.inputs).toMatchObject({
      functionResponseTypes: ["ReportBatchItemFailures"],
      eventSourceArn: `arn:aws:sqs:us-east-1:123456789012:${queue.name}`,
      functionName: ci.functionArn("Trigger"),
      batchSize: 10,
    });
    expect(JSON.parse(queue.redrivePolicy as string)).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:123456789012:${dlq.name}`,
      maxReceiveCount: 3,
    });
    // Lambda's SQS guide: visibility timeout at least six times the function timeout.
    expect(queue.visibilityTimeoutSeconds as number).toBeGreaterThanOrEqual(
      6 * (ci.fn("Trigger").inputs.timeout as number),
    );
    const busTarget = ci.one(
      "aws:cloudwatch/eventTarget:EventTarget",
      "RunsSubscriberRunRequestedTarget",
    ).inputs;
    expect(busTarget.arn).toBe(ci.functionArn("Trigger"));
  });

  it("routes the API through one function, JWT-authorized /runs routes when an issuer is configured, throttled", () => {
    const routes = Object.fromEntries(
      ci.all("aws:apigatewayv2/route:Route").map((r) => [r.inputs.routeKey as string, r.inputs]),
    );
    expect(Object.keys(routes).sort()).toEqual(["ANY /runs", "ANY /runs/{proxy+}", "GET /", "GET /client"]);
    expect(routes["GET /"]?.authorizationType).toBe("NONE");
    expect(routes["GET /client"]?.authorizationType).toBe("NONE");
    expect(routes["ANY /runs"]?.authorizationType).toBe("JWT");
    expect(routes["ANY /runs/{proxy+}"]?.authorizationType).toBe("JWT");
    expect(ci.all("aws:apigatewayv2/authorizer:Authorizer")[0]?.inputs).toMatchObject({
      authorizerType: "JWT",
      jwtConfiguration: { issuer: "https://issuer.example.com/", audiences: ["stagecast"] },
    });
    const prodRoutes = production.all("aws:apigatewayv2/route:Route").map((r) => r.inputs.authorizationType);
    expect(prodRoutes).toEqual(["NONE", "NONE", "NONE", "NONE"]);
    expect(ci.one("aws:apigatewayv2/stage:Stage", "ApiStage").inputs.defaultRouteSettings).toEqual({
      throttlingRateLimit: 50,
      throttlingBurstLimit: 100,
    });
    for (const integration of ci.all("aws:apigatewayv2/integration:Integration")) {
      expect(integration.inputs.integrationUri).toBe(ci.functionArn("ApiHandler"));
    }
  });

  it("passes deploy-time settings to the functions and keeps infra-owned ones out", () => {
    const env = (ci.fn("Stage").inputs.environment as { variables: Record<string, string> }).variables;
    expect(env.OPENAI_MODEL).toBe("gpt-4o-mini");
    expect(env.TABLE_NAME).toBe(ci.one(TABLE, "ProgressTable").inputs.name);
    expect(env.OPENAI_API_KEY).toBeUndefined();
    const api = (ci.fn("ApiHandler").inputs.environment as { variables: Record<string, string> }).variables;
    expect(api.STATE_MACHINE_ARN).toBe(stateMachineArn);
    expect(api.STREAM_BASE_URL).toMatch(/^https:\/\/[a-z0-9]+\.cloudfront\.net$/);
    expect(ci.fn("Stage").inputs.tracingConfig).toEqual({ mode: "Active" });
    expect(ci.one("aws:iam/role:Role", "StageRole").inputs.managedPolicyArns).toContain(
      "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    );
    expect(production.fn("Stage").inputs.tracingConfig).toBeUndefined();
  });
});

describe("the read path's CDN and the stream's concurrency (issue: watchers at scale)", () => {
  it("puts CloudFront (sst.aws.Router) in front of the stream URL, keyed by path and every query parameter (and Origin under CORS)", () => {
    const policyOf = (s: typeof ci) =>
      s.one("aws:cloudfront/cachePolicy:CachePolicy", "ReadsServerCachePolicy").inputs as {
        defaultTtl: number;
        minTtl: number;
        maxTtl: number;
        parametersInCacheKeyAndForwardedToOrigin: {
          cookiesConfig: { cookieBehavior: string };
          headersConfig: { headerBehavior: string; headers?: { items: string[] } };
          queryStringsConfig: { queryStringBehavior: string };
        };
      };
    const policy = policyOf(production);
    const key = policy.parametersInCacheKeyAndForwardedToOrigin;
    // The watch token rides in the query string: dropping query parameters from the key would
    // let one caller's cached body answer another's URL.
    expect(key.queryStringsConfig.queryStringBehavior).toBe("all");
    expect(key.headersConfig).toEqual({ headerBehavior: "none" });
    expect(key.cookiesConfig.cookieBehavior).toBe("none");
    // With CORS on, the Function URL's Access-Control-Allow-Origin follows the request's Origin:
    // a body cached for one web origin must not answer another.
    const cors = policyOf(ci).parametersInCacheKeyAndForwardedToOrigin;
    expect(cors.headersConfig).toEqual({ headerBehavior: "whitelist", headers: { items: ["Origin"] } });
    expect(cors.queryStringsConfig.queryStringBehavior).toBe("all");
    // The origin's Cache-Control decides (no-store on errors is never cached).
    expect([policy.minTtl, policy.defaultTtl]).toEqual([0, 0]);
    expect(policy.maxTtl).toBe(31_536_000);
    const distribution = ci.one("aws:cloudfront/distribution:Distribution", "ReadsCdnDistribution")
      .inputs as {
      defaultCacheBehavior: { cachePolicyId: string };
    };
    expect(distribution.defaultCacheBehavior.cachePolicyId).toBeTruthy();
  });

  it("gives clients the CDN as the stream base URL, and reserves the stream function's concurrency", () => {
    const api = ci.fn("ApiHandler").inputs as { environment: { variables: Record<string, string> } };
    expect(api.environment.variables.STREAM_BASE_URL).not.toMatch(/lambda-url/);
    const stream = ci.fn("Stream").inputs as { reservedConcurrentExecutions?: number };
    expect(stream.reservedConcurrentExecutions).toBe(200);
    // Only the stream is capped: the stage function keeps the account's unreserved pool.
    const stage = ci.fn("Stage").inputs as { reservedConcurrentExecutions?: number };
    expect(stage.reservedConcurrentExecutions).toBeUndefined();
  });
});
