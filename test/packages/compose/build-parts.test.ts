import { describe, expect, it } from "vitest";
import { type Agent, checkAgent, type StageDefinition } from "../../../packages/agent/index.ts";
import { stageModels } from "../../../packages/compose/build-parts.ts";
import { ConfigError, loadConfig } from "../../../packages/config/index.ts";
import { DEFAULT_AGENT as defaultAgent } from "../../support/agents.ts";

const run: StageDefinition["run"] = async () => ({ state: {}, message: "done" });

/** A custom agent whose stages share names with the built-in agent's (planning, execution). */
function agent(name: string, models: Record<string, string> = {}): Agent {
  return checkAgent({
    name,
    stages: ["gather", "planning", "execution"].map((stage) => ({
      name: stage,
      run,
      ...(models[stage] ? { model: models[stage] } : {}),
    })),
  });
}

const stageModelsEnv = (value: object) => ({ STAGE_MODELS: JSON.stringify(value) });

describe("stageModels", () => {
  it("lists no stage when nothing names a model: every stage uses OPENAI_MODEL", () => {
    expect(stageModels(loadConfig({ OPENAI_MODEL: "base" }), agent("ops")).size).toBe(0);
    expect(stageModels(loadConfig({ OPENAI_MODEL: "base" }), defaultAgent).size).toBe(0);
  });

  it("takes STAGE_MODELS[agent][stage] over the stage's model, and the stage's model over none", () => {
    const ops = agent("ops", { gather: "own-gather", planning: "own-planning" });
    const config = loadConfig(stageModelsEnv({ ops: { planning: "set-planning", execution: "set-exec" } }));
    expect(Object.fromEntries(stageModels(config, ops))).toEqual({
      gather: "own-gather",
      planning: "set-planning",
      execution: "set-exec",
    });
  });

  it("keeps OPENAI_MODEL_<STAGE> for the built-in agent, below STAGE_MODELS.default", () => {
    const config = loadConfig({
      OPENAI_MODEL_ANALYZING: "short-analyzing",
      OPENAI_MODEL_PLANNING: "short-planning",
      OPENAI_MODEL_EXECUTION: "short-exec",
      OPENAI_MODEL_MEMORY: "short-memory",
      ...stageModelsEnv({ default: { planning: "set-planning", validation: "set-validation" } }),
    });
    expect(Object.fromEntries(stageModels(config, defaultAgent))).toEqual({
      analyzing: "short-analyzing",
      planning: "set-planning",
      validation: "set-validation",
      execution: "short-exec",
      memory: "short-memory",
    });
  });

  it("does not apply OPENAI_MODEL_<STAGE> to another agent's stage of the same name", () => {
    const config = loadConfig({ OPENAI_MODEL_PLANNING: "short-planning", OPENAI_MODEL_EXECUTION: "x" });
    expect(stageModels(config, agent("ops")).size).toBe(0);
    expect(Object.fromEntries(stageModels(config, agent("ops", { planning: "own" })))).toEqual({
      planning: "own",
    });
  });

  it("keys STAGE_MODELS by agent: agent a's entry does not reach agent b or the built-in agent", () => {
    const config = loadConfig(stageModelsEnv({ a: { planning: "a-planning", execution: "a-exec" } }));
    expect(Object.fromEntries(stageModels(config, agent("a")))).toEqual({
      planning: "a-planning",
      execution: "a-exec",
    });
    expect(stageModels(config, agent("b")).size).toBe(0);
    expect(stageModels(config, defaultAgent).size).toBe(0);
  });

  it("refuses a STAGE_MODELS entry for a stage the agent does not have, naming it", () => {
    const config = loadConfig(stageModelsEnv({ ops: { planing: "m" }, other: { anything: "m" } }));
    expect(() => stageModels(config, agent("ops"))).toThrow(ConfigError);
    expect(() => stageModels(config, agent("ops"))).toThrow(
      /STAGE_MODELS\.ops\.planing: agent ops has no stage planing/,
    );
    // Entries for other agents are not this agent's concern.
    expect(stageModels(config, agent("b")).size).toBe(0);
  });

  it("does not find inherited names: an agent or stage called constructor has no setting", () => {
    const config = loadConfig(stageModelsEnv({ ops: { planning: "m" } }));
    expect(stageModels(config, agent("constructor")).size).toBe(0);
    const odd = checkAgent({
      name: "ops",
      stages: [
        { name: "constructor", run },
        { name: "planning", run },
      ],
    });
    expect(Object.fromEntries(stageModels(config, odd))).toEqual({ planning: "m" });
  });
});
