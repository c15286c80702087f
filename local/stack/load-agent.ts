import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type AgentDefinition,
  AgentDefinitionError,
  checkAgent,
  setAgentModule,
} from "../../packages/agent/index.ts";

/**
 * The agent a module exports by default (`export default defineAgent(…)`), for
 * `STAGECAST_AGENT=<module> npm start`. The path is resolved against the working directory.
 * The module becomes the process's agent module: tool workers import it to run its worker tools.
 * @throws AgentDefinitionError when the module cannot be loaded, has no default export, or its
 *   definition cannot run (the message says which, and names the module).
 */
export async function loadAgentModule(path: string): Promise<AgentDefinition> {
  const url = pathToFileURL(resolve(path)).href;
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new AgentDefinitionError(`STAGECAST_AGENT=${path}: the module could not be loaded: ${String(err)}`);
  }
  const definition = module.default as AgentDefinition | undefined;
  if (!definition || typeof definition !== "object") {
    throw new AgentDefinitionError(
      `STAGECAST_AGENT=${path}: the module has no default export (export default defineAgent(…))`,
    );
  }
  setAgentModule(new URL(url));
  try {
    checkAgent(definition);
  } catch (err) {
    throw err instanceof AgentDefinitionError
      ? new AgentDefinitionError(`STAGECAST_AGENT=${path}: ${err.message}`)
      : err;
  }
  return definition;
}
