import { ToolModuleError } from "./tool-error.ts";
import type { ToolFingerprint } from "./tool-fingerprint.ts";

/**
 * Worker tools of an agent module (`defineTool({ isolation: "worker", run })` without a
 * `worker` entry): the worker imports the agent module, takes its default export (the agent
 * definition), finds the tool by name in its `tools` and runs the `run` the author wrote, kept
 * on the tool under {@link AGENT_TOOL_BODY}. This module is imported by the worker entry
 * (worker-host.ts), so it imports nothing but tool-error.ts.
 */

/**
 * Where a tool keeps its author's `run` and fingerprint. A registered symbol: on AWS the agent
 * module's worker bundle has its own copy of define-tool.ts, and `Symbol.for` is the same in
 * every copy.
 */
export const AGENT_TOOL_BODY: unique symbol = Symbol.for("stagecast.agent-tool-body");

/** What a worker tool of an agent module keeps under {@link AGENT_TOOL_BODY}. */
export interface AgentToolBody {
  /** The author's `run`: the validated input in, a JSON value (or a promise of one) out. */
  run: (input: never) => unknown;
  fingerprint: ToolFingerprint;
}

/** What the main thread sends with a call of an agent worker tool. */
export interface AgentToolTarget {
  kind: "agent-tool";
  /** The tool's name, looked up in the module's default export's `tools`. */
  tool: string;
  /** The registered definition's fingerprint. */
  fingerprint: ToolFingerprint;
  /**
   * Whether the worker imports the very file the main thread loaded the agent from (false for
   * a bundle in tool-workers/ on AWS): only then may `run`'s source text be compared.
   */
  sameSource: boolean;
}

/** The last path segment of a `file:` URL string, for messages (never the whole path). */
const fileName = (href: string) => href.slice(href.lastIndexOf("/") + 1);

/**
 * The `run` a call of `target` executes, from the agent module the worker imported.
 * @param namespace the module's namespace object (`await import(href)`).
 * @param href the module's URL (its file name goes into messages).
 * @throws ToolModuleError `tool_not_in_module` when the default export has no tool of that
 *   name; `tool_module_mismatch` when the tool found is not a worker tool of an agent module
 *   or its fingerprint differs from the registered one (its shape always; its code when both
 *   threads load the same file the same way).
 */
export function agentToolRun(namespace: Record<string, unknown>, href: string, target: AgentToolTarget) {
  const { tool: name, fingerprint: expected } = target;
  const agent = namespace.default as { tools?: unknown } | undefined;
  const tools: unknown[] = Array.isArray(agent?.tools) ? agent.tools : [];
  const found = tools.find((t) => (t as { name?: unknown } | null)?.name === name);
  if (!found) {
    throw new ToolModuleError(
      "tool_not_in_module",
      `${name} is not among the tools of ${fileName(href)}'s default export as a tool worker loads it: a worker tool must be defined at the module's top level and listed in the agent's tools (the worker evaluates the module on its own, with an empty environment, outside any run).`,
    );
  }
  const body = (found as Record<symbol, AgentToolBody | undefined>)[AGENT_TOOL_BODY];
  const codeDiffers =
    target.sameSource &&
    body?.fingerprint.loader === expected.loader &&
    body.fingerprint.code !== expected.code;
  if (!body || body.fingerprint.shape !== expected.shape || codeDiffers) {
    throw new ToolModuleError(
      "tool_module_mismatch",
      `${name} in ${fileName(href)}, as a tool worker loads it, is not the definition this run registered (its isolation, input, description, time limit or code differ): define a worker tool once, at the module's top level, independent of environment variables and of runs.`,
    );
  }
  return body.run as (input: unknown) => unknown;
}
