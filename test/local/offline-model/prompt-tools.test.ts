import { describe, expect, it } from "vitest";
import { availableTools, promptTools } from "../../../local/offline-model/prompt-tools.ts";
import { AVAILABLE_TOOLS_PREFIX } from "../../../packages/default-agent/index.ts";

const SCHEMA = { type: "object", properties: { region: { type: "string", enum: ["north", "south"] } } };

describe("prompt-tools: the tools a planning prompt lists", () => {
  it("reads names from the Available tools line", () => {
    expect(availableTools(`Plan.\n${AVAILABLE_TOOLS_PREFIX}calculator, query_sales.`)).toEqual([
      "calculator",
      "query_sales",
    ]);
    expect(availableTools("Plan without tools.")).toEqual([]);
    expect(promptTools("Plan without tools.\n- query_sales: Sales. Input schema: {}")).toEqual([]);
  });

  it("reads each listed tool's description and input schema from its line", () => {
    const system = [
      "Write a plan.",
      `${AVAILABLE_TOOLS_PREFIX}calculator, query_sales, bare`,
      `- calculator: Evaluate arithmetic. Input schema: {"type":"object"}`,
      `- query_sales: Sales per region. Input schema: ${JSON.stringify(SCHEMA)}`,
      `- unlisted: Not in the tools line. Input schema: {}`,
    ].join("\n");
    expect(promptTools(system)).toEqual([
      { name: "calculator", description: "Evaluate arithmetic.", parameters: { type: "object" } },
      { name: "query_sales", description: "Sales per region.", parameters: SCHEMA },
      { name: "bare" },
    ]);
  });

  it("finds the schema after a description that itself says 'Input schema: '", () => {
    const system = `${AVAILABLE_TOOLS_PREFIX}odd\n- odd: Its Input schema: is below. Input schema: ${JSON.stringify(SCHEMA)}`;
    expect(promptTools(system)).toEqual([
      { name: "odd", description: "Its Input schema: is below.", parameters: SCHEMA },
    ]);
  });

  it("gives no parameters when the schema is not a JSON object", () => {
    const system = `${AVAILABLE_TOOLS_PREFIX}a, b\n- a: A tool. Input schema: [1, 2]\n- b: B tool. Input schema: {broken`;
    expect(promptTools(system)).toEqual([
      { name: "a", description: "A tool. Input schema: [1, 2]" },
      { name: "b", description: "B tool. Input schema: {broken" },
    ]);
  });
});
