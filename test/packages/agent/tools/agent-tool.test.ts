import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  AGENT_TOOL_BODY,
  type AgentToolBody,
  type AgentToolTarget,
  agentToolRun,
} from "../../../../packages/agent/tools/agent-tool.ts";
import { defineTool, type Tool, ToolModuleError } from "../../../../packages/agent/tools/index.ts";

const HREF = "file:///somewhere/agents/my-agent.ts";

/** An agent's worker tool as an author defines it. */
const double = defineTool({
  name: "double",
  description: "Double a number.",
  input: z.object({ n: z.number() }),
  isolation: "worker",
  run: ({ n }) => ({ doubled: n * 2 }),
});
const bodyOf = (tool: Tool) => (tool as Tool & { [AGENT_TOOL_BODY]: AgentToolBody })[AGENT_TOOL_BODY];

/** What the main thread sends for `tool`, comparing code or not. */
function target(tool: Tool, sameSource = true): AgentToolTarget {
  return { kind: "agent-tool", tool: tool.name, fingerprint: bodyOf(tool).fingerprint, sameSource };
}

/** A module namespace whose default export is an agent with `tools`. */
const moduleWith = (...tools: unknown[]) => ({ default: { name: "a", tools } });

/** The error agentToolRun throws, as a ToolModuleError. */
function failure(run: () => unknown): ToolModuleError {
  try {
    run();
  } catch (err) {
    if (err instanceof ToolModuleError) return err;
    throw err;
  }
  throw new Error("expected a ToolModuleError");
}

describe("agentToolRun (in the worker: the tool a call names, from the agent module it imported)", () => {
  it("returns the author's run of the tool of that name in the default export's tools", () => {
    const run = agentToolRun(moduleWith(double), HREF, target(double));
    expect(run({ n: 21 })).toEqual({ doubled: 42 });
  });

  it("tool_not_in_module when the default export does not list it, has no tools, or is missing; the message says what to do and names only the file", () => {
    for (const namespace of [moduleWith(), { default: { name: "a" } }, {}, moduleWith(null, 3)]) {
      const error = failure(() => agentToolRun(namespace, HREF, target(double)));
      expect(error.code).toBe("tool_not_in_module");
      expect(error.message).toContain("double is not among the tools of my-agent.ts's default export");
      expect(error.message).toContain(
        "must be defined at the module's top level and listed in the agent's tools",
      );
      expect(error.message).not.toContain("/somewhere/");
      expect(error.message.length).toBeLessThanOrEqual(500);
    }
  });

  it("tool_module_mismatch when the tool found has another input, description or time limit", () => {
    const variants = [
      defineTool({
        ...double,
        input: z.object({ n: z.number().max(10) }),
        isolation: "worker",
        run: bodyOf(double).run,
      }),
      defineTool({ ...double, description: "Other.", isolation: "worker", run: bodyOf(double).run }),
      defineTool({ ...double, timeoutMs: 1, isolation: "worker", run: bodyOf(double).run }),
    ];
    for (const found of variants) {
      const error = failure(() => agentToolRun(moduleWith(found), HREF, target(double)));
      expect(error.code).toBe("tool_module_mismatch");
      expect(error.message).toContain(
        "double in my-agent.ts, as a tool worker loads it, is not the definition this run registered",
      );
    }
  });

  it("tool_module_mismatch when the tool found is not an agent's worker tool (in-process, or a module export)", () => {
    const inProcess = defineTool({ ...double, isolation: "in-process", run: async () => 1 });
    expect(failure(() => agentToolRun(moduleWith(inProcess), HREF, target(double))).code).toBe(
      "tool_module_mismatch",
    );
  });

  it("compares run's code only when the worker loads the same file the same way (same loader fingerprint)", () => {
    const other = defineTool({ ...double, isolation: "worker", run: ({ n }) => ({ doubled: n + n }) });
    // Same file, same loader: another run is another definition.
    expect(failure(() => agentToolRun(moduleWith(other), HREF, target(double))).code).toBe(
      "tool_module_mismatch",
    );
    // A bundle (AWS: minified apart from the handler) or another loader (vitest's main thread):
    // the text cannot be compared, the shape still is.
    expect(agentToolRun(moduleWith(other), HREF, target(double, false))({ n: 2 })).toEqual({ doubled: 4 });
    const otherLoader: AgentToolTarget = {
      ...target(double),
      fingerprint: { ...bodyOf(double).fingerprint, loader: "another loader" },
    };
    expect(agentToolRun(moduleWith(other), HREF, otherLoader)({ n: 3 })).toEqual({ doubled: 6 });
  });
});
