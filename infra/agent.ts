// The deployed agent: sst.config.ts names its module (the `AGENT` setting); the state machine
// is generated from its definition and every function bundles the same module.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type Agent, AgentDefinitionError, checkAgent } from "../packages/agent/index.ts";
import { defaultAgent } from "../packages/default-agent/index.ts";

/**
 * The identifier functions/aws.ts imports the agent module through: esbuild's `define` replaces
 * it by the module's absolute path at bundle time, so the module is bundled into the handler
 * (an `import()` of a string constant is bundled like a static import). Undefined in a bundle
 * built without it: the function runs the built-in agent.
 */
export const AGENT_MODULE_IDENTIFIER = "__STAGECAST_AGENT_MODULE__";

/** Lambda's maximum function timeout (s): 15 minutes (Lambda quotas). */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** The agent a deploy runs. */
export interface DeployedAgent {
  /** The module's absolute path; undefined for the built-in agent. */
  module?: string;
  /** The checked agent: the state machine and the stage function's timeout come from it. */
  agent: Agent;
}

/**
 * Load the agent the setting names, at deploy time: the module's default export
 * (`export default defineAgent(…)`), checked as the functions will check it.
 * @param setting the module path relative to `root` (sst.config.ts's `AGENT`, or STAGECAST_AGENT
 *   in the deploying shell); undefined or empty for the built-in agent.
 * @param root the project root (`$cli.paths.root`).
 * @throws AgentDefinitionError naming the module when it cannot be loaded, has no default export
 *   or its definition cannot run, and Error when a stage's timeout exceeds Lambda's (see
 *   {@link stageFunctionTimeout}): the deploy stops before any resource is declared.
 */
export async function loadDeployedAgent(setting: string | undefined, root: string): Promise<DeployedAgent> {
  const deployed: DeployedAgent = setting
    ? { module: path.resolve(root, setting), agent: await importAgent(path.resolve(root, setting), setting) }
    : { agent: checkAgent(defaultAgent) };
  stageFunctionTimeout(deployed.agent);
  return deployed;
}

/** The checked default export of an agent module; `setting` names it in errors. */
async function importAgent(module: string, setting: string): Promise<Agent> {
  const label = `agent ${setting} (sst.config.ts)`;
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(module).href)) as { default?: unknown };
  } catch (err) {
    throw new AgentDefinitionError(`${label}: the module could not be loaded: ${String(err)}`);
  }
  if (!loaded.default || typeof loaded.default !== "object") {
    throw new AgentDefinitionError(
      `${label}: the module has no default export (export default defineAgent(…))`,
    );
  }
  try {
    return checkAgent(loaded.default as Parameters<typeof checkAgent>[0]);
  } catch (err) {
    throw err instanceof AgentDefinitionError ? new AgentDefinitionError(`${label}: ${err.message}`) : err;
  }
}

/**
 * The stage function's timeout (s): the agent's longest stage Task TimeoutSeconds, so the
 * Task's limit is the one that applies to every stage.
 * @throws Error at deploy time when a stage's timeout exceeds Lambda's 900 s maximum: its
 *   attempts would be cut by Lambda before the Task timed out.
 */
export function stageFunctionTimeout(agent: Agent): number {
  const longest = Math.max(...agent.stages.map((stage) => stage.timeoutSeconds));
  if (longest > LAMBDA_MAX_TIMEOUT_SECONDS) {
    const stage = agent.stages.find((s) => s.timeoutSeconds === longest)?.name;
    throw new Error(
      `agent ${agent.name}: stage ${stage}'s timeout of ${longest} s exceeds Lambda's ${LAMBDA_MAX_TIMEOUT_SECONDS} s`,
    );
  }
  return longest;
}

/**
 * esbuild options for every function's bundle (`nodejs.esbuild`): the `define` that bundles the
 * agent module into functions/aws.ts; none for the built-in agent.
 */
export function agentBundling(deployed: DeployedAgent): { define?: Record<string, string> } {
  return deployed.module ? { define: { [AGENT_MODULE_IDENTIFIER]: JSON.stringify(deployed.module) } } : {};
}
