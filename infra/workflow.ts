// The deployed agent: the state machine is generated from its definition at deploy time, and
// the stage function built from the same module runs its stages.
import { definitionJson, FINALIZED_STATUSES } from "../packages/workflow/definition.ts";
import { type DeployedAgent, stageFunctionTimeout } from "./agent.ts";
import type { Secrets } from "./secrets.ts";
import { functionDefaults, isProduction, tableAccess, tracing } from "./settings.ts";
import { toolWorkerFiles } from "./tool-workers.ts";

/**
 * The workflow: the stage function (every stage's Task), the Finalize function, and a Standard
 * state machine whose definition is packages/workflow's ASL generated from the deployed agent
 * (infra/agent.ts: the module sst.config.ts names, bundled into the functions too) with the two
 * function ARNs substituted. Its role
 * may invoke those two functions and nothing else (plus log delivery). An EventBridge rule on the default bus sends
 * this state machine's FAILED / TIMED_OUT / ABORTED status changes to Finalize.
 */
export function createWorkflow({
  table,
  secrets,
  agent,
}: {
  table: sst.aws.Dynamo;
  secrets: Secrets;
  agent: DeployedAgent;
}) {
  const defaults = functionDefaults("stage", agent);
  const stage = new sst.aws.Function("Stage", {
    ...defaults,
    handler: "functions/stage.handler",
    description: "Stagecast: runs one agent stage (Task of every stage state)",
    // The tool workers' own bundles (the calculator, the agent module for its worker tools): infra/tool-workers.ts;
    // and, as in every function, the agent's data files (infra/agent-files.ts).
    copyFiles: [...defaults.copyFiles, ...toolWorkerFiles("functions/stage.handler", agent.module)],
    // The agent's longest stage Task timeout (the built-in agent's execution, 900 s): the Task's
    // TimeoutSeconds is the limit that matters; over Lambda's 900 s maximum the deploy fails.
    timeout: `${stageFunctionTimeout(agent.agent)} seconds`,
    memory: "1024 MB",
    environment: { ...defaults.environment, TABLE_NAME: table.name },
    permissions: [tableAccess(table, "write")],
    link: [secrets.openaiApiKey],
  });

  const finalizeDefaults = functionDefaults("finalize", agent);
  const finalize = new sst.aws.Function("Finalize", {
    ...finalizeDefaults,
    handler: "functions/finalize.handler",
    description:
      "Stagecast: writes a run's terminal event when its workflow failed, timed out or was stopped",
    timeout: "60 seconds",
    environment: { ...finalizeDefaults.environment, TABLE_NAME: table.name },
    permissions: [tableAccess(table, "write")],
  });

  const logGroup = new aws.cloudwatch.LogGroup("WorkflowLogs", {
    name: `/aws/vendedlogs/states/${$app.name}-${$app.stage}-workflow`,
    retentionInDays: isProduction ? 90 : 7,
  });

  const role = new aws.iam.Role("WorkflowRole", {
    assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "states.amazonaws.com" }),
    inlinePolicies: [
      {
        name: "invoke-stages",
        policy: aws.iam.getPolicyDocumentOutput({
          statements: [
            {
              actions: ["lambda:InvokeFunction"],
              resources: [
                stage.arn,
                $interpolate`${stage.arn}:*`,
                finalize.arn,
                $interpolate`${finalize.arn}:*`,
              ],
            },
            {
              // Log delivery actions take no resource ARN (Step Functions developer guide,
              // "IAM policies for logging to CloudWatch Logs").
              actions: [
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
              ],
              resources: ["*"],
            },
            ...(tracing
              ? [
                  {
                    actions: [
                      "xray:PutTraceSegments",
                      "xray:PutTelemetryRecords",
                      "xray:GetSamplingRules",
                      "xray:GetSamplingTargets",
                    ],
                    resources: ["*"],
                  },
                ]
              : []),
          ],
        }).json,
      },
    ],
  });

  const stateMachine = new aws.sfn.StateMachine("Workflow", {
    type: "STANDARD",
    roleArn: role.arn,
    // The shared ASL module generated from the deployed agent, with the functions' ARNs substituted.
    definition: $resolve([stage.arn, finalize.arn]).apply(([stageFunctionArn, finalizeFunctionArn]) =>
      definitionJson(agent.agent, { stageFunctionArn, finalizeFunctionArn }),
    ),
    loggingConfiguration: {
      level: "ERROR",
      includeExecutionData: false,
      logDestination: $interpolate`${logGroup.arn}:*`,
    },
    tracingConfiguration: { enabled: tracing },
  });

  sst.aws.Bus.subscribe("WorkflowEnded", defaultBusArn(), finalize, {
    pattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { status: [...FINALIZED_STATUSES], stateMachineArn: [stateMachine.arn] },
    },
  });

  return { stage, finalize, stateMachine, role, logGroup };
}

/** The account's default event bus, where AWS services publish their events. */
export function defaultBusArn() {
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  return $interpolate`arn:aws:events:${region}:${account}:event-bus/default`;
}
