import type { DeployedAgent } from "./agent.ts";
import { functionDefaults, tableAccess } from "./settings.ts";

/**
 * The backstop sweep (functions/sweep.ts) every 5 minutes: ends runs that went silent for
 * RUN_SILENCE_MS without a terminal event, for the cases the Catch path and the status-change
 * rule both miss.
 */
export function createSweep({ table, agent }: { table: sst.aws.Dynamo; agent: DeployedAgent }) {
  const defaults = functionDefaults("sweep", agent);
  return new sst.aws.CronV2("Sweep", {
    schedule: "rate(5 minutes)",
    function: {
      ...defaults,
      handler: "functions/sweep.handler",
      description: "Stagecast: ends runs whose workflow vanished without a terminal event",
      timeout: "60 seconds",
      environment: { ...defaults.environment, TABLE_NAME: table.name },
      permissions: [tableAccess(table, "write")],
    },
  });
}
