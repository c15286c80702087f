/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The agent to deploy: a module whose default export is `defineAgent(…)`, relative to this file
 * (e.g. "examples/minimal/agent.ts"); undefined deploys the built-in agent. The state machine is
 * generated from it and every function bundles it (infra/agent.ts, docs/deploy.md).
 * STAGECAST_AGENT in the deploying shell, when set, overrides it (the variable `npm start` reads).
 */
const AGENT: string | undefined = undefined;

/**
 * Stagecast on AWS. `app()` names the app and protects the production stage (resources are
 * retained, never deleted, by `sst remove`); `run()` assembles one file per concern from
 * infra/. See docs/deploy.md.
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "stagecast",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
    };
  },
  async run() {
    // First: a module that fails to load or check stops the deploy before any resource.
    const { loadDeployedAgent } = await import("./infra/agent.ts");
    const agent = await loadDeployedAgent(process.env.STAGECAST_AGENT || AGENT, $cli.paths.root);
    const { secrets } = await import("./infra/secrets.ts");
    const { table } = await import("./infra/table.ts");
    const { createWorkflow } = await import("./infra/workflow.ts");
    const { createApi } = await import("./infra/api.ts");
    const { createStream } = await import("./infra/stream.ts");
    const { createTriggers } = await import("./infra/triggers.ts");
    const { createSweep } = await import("./infra/sweep.ts");
    const { createCdn } = await import("./infra/cdn.ts");

    const workflow = createWorkflow({ table, secrets, agent });
    const { stateMachine } = workflow;
    const stream = createStream({ table, secrets, stateMachine, agent });
    // Clients reach the stream through the CDN: cached long-poll reads, SSE passed through.
    const { corsOrigins } = await import("./infra/settings.ts");
    const cdn = createCdn({ streamUrl: stream.url, corsOrigins });
    const api = createApi({ table, secrets, stateMachine, streamUrl: cdn.url, agent });
    const triggers = createTriggers({ table, stateMachine, agent });
    createSweep({ table, agent });

    return {
      api: api.url,
      stream: cdn.url,
      streamOrigin: stream.url,
      queue: triggers.queue.url,
      bus: triggers.bus.name,
      stateMachine: stateMachine.arn,
      agent: agent.agent.name,
      table: table.name,
    };
  },
});
