import { basename } from "node:path";

/**
 * The agent module of this process: the module the agent definition was loaded from, which a
 * tool worker imports to find the agent's worker tools (agent-tool.ts). One per process, set
 * by the composition root that loaded it: local/stack/load-agent.ts (STAGECAST_AGENT's file)
 * and functions/aws.ts (the deployed module's bundle in tool-workers/, see
 * {@link bundledAgentModule}). Unset (the built-in agent, an agent passed as an object), a
 * worker tool of an agent fails with `tool_not_in_module`.
 */

let current: URL | undefined;

/** Set (or, with undefined, clear) the process's agent module: a `file:` URL. */
export function setAgentModule(module: URL | undefined): void {
  current = module;
}

/** The process's agent module, if one was set. */
export function agentModule(): URL | undefined {
  return current;
}

/**
 * Where a deployed handler finds the agent module's worker bundle: a URL beside the handler
 * bundle with the module's file name (`…/functions/agent.ts`), which does not exist there, so
 * resolveWorkerModule falls back to `…/functions/tool-workers/agent.mjs`, the bundle
 * infra/tool-workers.ts copies into the function's zip.
 * @param sourcePath the module's absolute path at bundle time (functions/aws.ts's
 *   `__STAGECAST_AGENT_MODULE__`).
 * @param handlerUrl the handler bundle's `import.meta.url`.
 */
export function bundledAgentModule(sourcePath: string, handlerUrl: string | URL): URL {
  return new URL(`./${basename(sourcePath)}`, handlerUrl);
}
