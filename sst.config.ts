/// <reference path="./.sst/platform/config.d.ts" />

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
    const { secrets } = await import("./infra/secrets.ts");
    const { table } = await import("./infra/table.ts");
    const { createWorkflow } = await import("./infra/workflow.ts");
    const { createApi } = await import("./infra/api.ts");
    const { createStream } = await import("./infra/stream.ts");
    const { createTriggers } = await import("./infra/triggers.ts");
    const { createSweep } = await import("./infra/sweep.ts");

    const workflow = createWorkflow({ table, secrets });
    const stream = createStream({ table, secrets, stateMachine: workflow.stateMachine });
    const api = createApi({ table, secrets, stateMachine: workflow.stateMachine, streamUrl: stream.url });
    const triggers = createTriggers({ table, stateMachine: workflow.stateMachine });
    createSweep({ table });

    return {
      api: api.url,
      stream: stream.url,
      queue: triggers.queue.url,
      bus: triggers.bus.name,
      stateMachine: workflow.stateMachine.arn,
      table: table.name,
    };
  },
});
