import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AgentNameSchema } from "../../../packages/agent/agent-definition.ts";
import {
  AGENT_NAME_PATTERN,
  ConfigError,
  ConfigSchema,
  loadConfig,
  STAGE_NAME_PATTERN,
  usesOfflineModel,
} from "../../../packages/config/config.ts";
import { STAGE_NAME_PATTERN as EVENTS_STAGE_NAME_PATTERN } from "../../../packages/events/index.ts";

describe("configuration", () => {
  it("documents every variable in the README's configuration table", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    for (const key of Object.keys(ConfigSchema.shape))
      expect(readme).toMatch(new RegExp(`^\\| \`${key}\` +\\|`, "m"));
  });

  it("has working defaults and treats empty values as unset", () => {
    const config = loadConfig({ PORT: "", OPENAI_API_KEY: "" });
    expect(config.PORT).toBe(3000);
    expect(config.LLM_DELTA_INTERVAL_MS).toBe(100);
    expect(usesOfflineModel(config)).toBe(true);
    expect(usesOfflineModel(loadConfig({ OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" }))).toBe(false);
  });

  it("refuses invalid values with an error naming the variable", () => {
    expect(() => loadConfig({ PORT: "http" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "http" })).toThrow(/PORT/);
    expect(() => loadConfig({ OPENAI_BASE_URL: "not a url" })).toThrow(/OPENAI_BASE_URL/);
    expect(() => loadConfig({ LLM_DELTA_MAX_CHARS: "1" })).toThrow(/LLM_DELTA_MAX_CHARS/);
  });
});

describe("STAGE_MODELS", () => {
  it("is an empty table when unset or empty, else the parsed object", () => {
    expect(loadConfig({}).STAGE_MODELS).toEqual({});
    expect(loadConfig({ STAGE_MODELS: "" }).STAGE_MODELS).toEqual({});
    const value = { default: { execution: "gpt-4o" }, "k8s-diag": { step_2: "o3-mini" } };
    expect(loadConfig({ STAGE_MODELS: JSON.stringify(value) }).STAGE_MODELS).toEqual(value);
  });

  it.each([
    ["not JSON", "{default:", /STAGE_MODELS: not JSON/],
    ["not an object", '["gpt-4o"]', /STAGE_MODELS: .*expected record/],
    ["an agent whose value is not an object", '{"ops":"gpt-4o"}', /STAGE_MODELS\.ops: .*expected record/],
    ["a bad agent name", '{"Ops":{"planning":"m"}}', /STAGE_MODELS\.Ops: an agent name is/],
    ["a bad stage name", '{"ops":{"plan-b":"m"}}', /STAGE_MODELS\.ops\.plan-b: a stage name is/],
    ["an empty model", '{"ops":{"planning":""}}', /STAGE_MODELS\.ops\.planning: /],
    [
      "a model that is not a string",
      '{"ops":{"planning":4}}',
      /STAGE_MODELS\.ops\.planning: .*expected string/,
    ],
  ])("refuses %s with a ConfigError naming the entry", (_, text, message) => {
    expect(() => loadConfig({ STAGE_MODELS: text })).toThrow(ConfigError);
    expect(() => loadConfig({ STAGE_MODELS: text })).toThrow(message);
  });

  it("checks names with the same patterns as agent definitions and events", () => {
    const names = [
      "ops",
      "k8s-diag",
      "a_b",
      "Ops",
      "1ops",
      "-ops",
      `a${"b".repeat(47)}`,
      `a${"b".repeat(48)}`,
    ];
    for (const name of names)
      expect(AGENT_NAME_PATTERN.test(name), name).toBe(AgentNameSchema.safeParse(name).success);
    expect(STAGE_NAME_PATTERN.source).toBe(EVENTS_STAGE_NAME_PATTERN.source);
    expect(() => loadConfig({ STAGE_MODELS: JSON.stringify({ [`a${"b".repeat(47)}`]: {} }) })).not.toThrow();
    expect(() => loadConfig({ STAGE_MODELS: JSON.stringify({ [`a${"b".repeat(48)}`]: {} }) })).toThrow(
      ConfigError,
    );
  });
});
