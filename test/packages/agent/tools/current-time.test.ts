import { describe, expect, it } from "vitest";
import { currentTimeTool } from "../../../../packages/agent/tools/current-time.ts";
import { runTool } from "../../../../packages/agent/tools/index.ts";
import { errorOf, resultOf, useToolContext } from "../../../support/tools.ts";

const TABLE = "stagecast-tools-test";
const ctx = useToolContext(TABLE);

describe("current_time", () => {
  const instant = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  const at = (input: unknown) => runTool(currentTimeTool, input, ctx({ now: () => instant }));

  it("uses the context clock and defaults to UTC", async () => {
    const result = resultOf(await at({}));
    expect(result.iso).toBe("2024-01-02T03:04:05.678Z");
    expect(result.timezone).toBe("UTC");
    expect(result.local).toContain("2 January 2024");
    expect(result.local).toContain("03:04:05");
  });

  it("gives the local time in a valid IANA zone", async () => {
    const result = resultOf(await at({ timezone: "Europe/Paris" }));
    expect(result.iso).toBe("2024-01-02T03:04:05.678Z");
    expect(result.timezone).toBe("Europe/Paris");
    expect(result.local).toContain("04:04:05");
    const tokyo = resultOf(await at({ timezone: "Asia/Tokyo" }));
    expect(tokyo.local).toContain("12:04:05");
  });

  it("reports an unknown zone as a tool_error", async () => {
    const error = errorOf(await at({ timezone: "Mars/Olympus_Mons" }));
    expect(error).toEqual({ code: "tool_error", message: 'unknown time zone "Mars/Olympus_Mons"' });
  });

  it("rejects a non-string zone as invalid_tool_input", async () => {
    const error = errorOf(await at({ timezone: 42 }));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toContain("timezone");
  });
});
