import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { compose, type Platform } from "../../../packages/compose/compose.ts";
import { ConfigError, loadConfig } from "../../../packages/config/index.ts";
import type { Workflow } from "../../../packages/workflow/index.ts";

/** A workflow stand-in that records it was built; compose never calls it in these tests. */
function countingWorkflow() {
  let built = 0;
  const workflow: Workflow = {
    start: async () => ({ executionArn: "arn:aws:states:us-east-1:0:execution:m:x", alreadyStarted: false }),
    stop: async () => undefined,
  };
  return {
    get built() {
      return built;
    },
    build: () => {
      built += 1;
      return workflow;
    },
  };
}

function platform(workflow: () => Workflow, extra: Partial<Platform> = {}): Platform {
  return {
    // Never sent a request here: the parts are only built.
    dynamo: new DynamoDBClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9" }),
    workflow,
    authOffAllowed: false,
    defaultFlush: "off",
    log: () => {},
    ...extra,
  };
}

describe("compose", () => {
  it("builds a part on first use only, once: the stage function's parts never build the workflow", () => {
    const counting = countingWorkflow();
    const parts = compose(
      loadConfig({ AUTH: "jwt", AUTH_JWT_SECRET: "s".repeat(32) }),
      platform(counting.build),
    );
    expect(parts.agent.agent.name).toBe("default");
    expect(parts.store).toBe(parts.agent.store);
    expect(counting.built).toBe(0);
    parts.triggerDeps();
    parts.triggerDeps();
    expect(parts.workflow).toBe(parts.triggerDeps().workflow);
    expect(counting.built).toBe(1);
  });

  it("refuses AUTH=off where the platform does not allow it, at the first use of auth", () => {
    const parts = compose(loadConfig({ AUTH: "off" }), platform(countingWorkflow().build));
    expect(() => parts.auth).toThrow(ConfigError);
    expect(() => parts.apiApp()).toThrow(/AUTH=off is only allowed on a loopback interface/);
    const local = compose(
      loadConfig({ AUTH: "off" }),
      platform(countingWorkflow().build, { authOffAllowed: true }),
    );
    expect(local.auth).toEqual({ mode: "off" });
  });

  it("replaces the named stages' code and keeps the agent's stages, order and settings", async () => {
    const run = async () => ({ state: {}, message: "replaced" });
    const parts = compose(
      loadConfig({ AUTH: "off" }),
      platform(countingWorkflow().build, { stages: { memory: run } }),
    );
    expect(parts.agent.agent.stage("memory")?.run).toBe(run);
    expect(parts.agent.agent.stages.map((s) => s.name)).toHaveLength(6);
  });
});
