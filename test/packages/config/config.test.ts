import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, ConfigSchema, loadConfig, usesOfflineModel } from "../../../packages/config/config.ts";

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
