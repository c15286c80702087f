import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  agentModule,
  bundledAgentModule,
  setAgentModule,
} from "../../../../packages/agent/tools/agent-module.ts";
import { resolveWorkerModule } from "../../../../packages/agent/tools/worker-module.ts";

describe("the process's agent module", () => {
  it("is unset until a root sets it, and can be cleared", () => {
    expect(agentModule()).toBeUndefined();
    const url = new URL("file:///project/agents/agent.ts");
    setAgentModule(url);
    expect(agentModule()).toBe(url);
    setAgentModule(undefined);
    expect(agentModule()).toBeUndefined();
  });

  it("on AWS is the module's file name beside the handler bundle, which resolves to its bundle in tool-workers/", () => {
    // The Lambda layout: functions/stage.mjs, functions/tool-workers/agent.mjs; no sources.
    const root = mkdtempSync(path.join(tmpdir(), "stagecast-agent-module-"));
    try {
      mkdirSync(path.join(root, "functions/tool-workers"), { recursive: true });
      writeFileSync(path.join(root, "functions/tool-workers/agent.mjs"), "export default {};");
      const handler = pathToFileURL(path.join(root, "functions/stage.mjs")).href;
      const url = bundledAgentModule("/home/dev/project/examples/minimal/agent.ts", handler);
      expect(url.href).toBe(pathToFileURL(path.join(root, "functions/agent.ts")).href);
      expect(existsSync(url)).toBe(false);
      expect(resolveWorkerModule(url).href).toBe(
        pathToFileURL(path.join(root, "functions/tool-workers/agent.mjs")).href,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
