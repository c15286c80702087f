import { describe, expect, it } from "vitest";
import { z } from "zod";
import { calculatorTool } from "../../../../packages/agent/tools/calculator.ts";
import {
  defineTool,
  runTool,
  TOOL_RESULT_MAX_CHARS,
  ToolError,
  ToolModuleError,
  truncateResult,
} from "../../../../packages/agent/tools/index.ts";
import { errorOf, resultOf, useToolContext } from "../../../support/tools.ts";

const TABLE = "stagecast-tools-test";
const ctx = useToolContext(TABLE);

describe("runTool", () => {
  const nested = defineTool({
    name: "nested",
    description: "Takes a nested object.",
    input: z.object({ a: z.object({ b: z.number() }) }),
    run: async ({ a }) => a.b * 2,
  });

  it("validates input and names the zod path of each problem", async () => {
    const error = errorOf(await runTool(nested, { a: { b: "x" } }, ctx()));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toMatch(/^a\.b: /);
  });

  it("names the whole input when it is not an object", async () => {
    const error = errorOf(await runTool(nested, "oops", ctx()));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toMatch(/^input: /);
  });

  it("passes the parsed input to the tool and returns its result with a duration", async () => {
    let t = 1000;
    const outcome = await runTool(nested, { a: { b: 21 } }, ctx({ now: () => (t += 5) }));
    expect(outcome).toEqual({ ok: true, result: 42, durationMs: expect.any(Number) });
    expect(outcome.durationMs).toBeGreaterThan(0);
  });

  it("turns a ToolError into tool_error with its message", async () => {
    const failing = defineTool({
      name: "failing",
      description: "Fails politely.",
      input: z.object({}),
      run: async () => {
        throw new ToolError("the thing is not available");
      },
    });
    expect(errorOf(await runTool(failing, {}, ctx()))).toEqual({
      code: "tool_error",
      message: "the thing is not available",
    });
  });

  it('hides the message of any other error behind "<name> failed."', async () => {
    const leaky = defineTool({
      name: "leaky",
      description: "Fails with internals.",
      input: z.object({}),
      run: async () => {
        throw new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2");
      },
    });
    const error = errorOf(await runTool(leaky, {}, ctx()));
    expect(error).toEqual({ code: "tool_error", message: "leaky failed." });
    expect(error.message).not.toContain("hunter2");
  });

  it("reports a ToolModuleError with its own code and message (a worker tool broke the definition rule)", async () => {
    const misplaced = defineTool({
      name: "misplaced",
      description: "Is not where the worker looks.",
      input: z.object({}),
      run: async () => {
        throw new ToolModuleError(
          "tool_not_in_module",
          "misplaced is not among the tools of agent.ts's default export",
        );
      },
    });
    expect(errorOf(await runTool(misplaced, {}, ctx()))).toEqual({
      code: "tool_not_in_module",
      message: "misplaced is not among the tools of agent.ts's default export",
    });
  });

  it("cuts a ToolError message to 500 characters", async () => {
    const verbose = defineTool({
      name: "verbose",
      description: "Fails at length.",
      input: z.object({}),
      run: async () => {
        throw new ToolError("x".repeat(2000));
      },
    });
    expect(errorOf(await runTool(verbose, {}, ctx())).message).toHaveLength(500);
  });

  it("replaces a result longer than TOOL_RESULT_MAX_CHARS by a truncated preview of that length", async () => {
    const big = defineTool({
      name: "big",
      description: "Returns a lot.",
      input: z.object({}),
      run: async () => ({ text: "y".repeat(TOOL_RESULT_MAX_CHARS * 3) }),
    });
    const result = resultOf(await runTool(big, {}, ctx()));
    expect(result.truncated).toBe(true);
    expect(typeof result.preview).toBe("string");
    expect(result.preview).toHaveLength(TOOL_RESULT_MAX_CHARS);
    expect(String(result.preview).startsWith('{"text":"yyy')).toBe(true);
  });

  it("keeps a result that fits, and turns undefined into null", () => {
    const fits = "z".repeat(TOOL_RESULT_MAX_CHARS - 2); // its JSON has the two quotes
    expect(truncateResult(fits)).toBe(fits);
    expect(truncateResult(`${fits}z`)).toEqual({
      truncated: true,
      preview: JSON.stringify(`${fits}z`).slice(0, 4000),
    });
    expect(truncateResult(undefined)).toBeNull();
  });

  it("times out a tool that ignores its signal, and aborts the signal it was given", async () => {
    let seen: AbortSignal | undefined;
    const stuck = defineTool({
      name: "stuck",
      description: "Never finishes.",
      input: z.object({}),
      timeoutMs: 50,
      run: (_input, c) => {
        seen = c.signal;
        return new Promise(() => {});
      },
    });
    const error = errorOf(await runTool(stuck, {}, ctx()));
    expect(error).toEqual({ code: "tool_timeout", message: "stuck took longer than 50 ms." });
    expect(seen?.aborted).toBe(true);
  });

  it("rejects (does not return ok:false) when the run is cancelled while the tool runs", async () => {
    const controller = new AbortController();
    const waiting = defineTool({
      name: "waiting",
      description: "Waits for its signal.",
      input: z.object({}),
      run: (_input, c) =>
        new Promise((_resolve, reject) => {
          c.signal.addEventListener("abort", () => reject(new ToolError("stopped")), { once: true });
          setTimeout(() => controller.abort(new Error("run cancelled")), 10);
        }),
    });
    await expect(runTool(waiting, {}, ctx({ signal: controller.signal }))).rejects.toThrow("run cancelled");
  });

  it("rejects when the run's signal is already aborted, without a result", async () => {
    const controller = new AbortController();
    controller.abort(new Error("run cancelled"));
    let ran = false;
    const quick = defineTool({
      name: "quick",
      description: "Finishes at once.",
      input: z.object({}),
      run: async () => {
        ran = true;
        return "done";
      },
    });
    await expect(runTool(quick, {}, ctx({ signal: controller.signal }))).rejects.toThrow("run cancelled");
    await expect(
      runTool(calculatorTool, { expression: "1+1" }, ctx({ signal: controller.signal })),
    ).rejects.toThrow("run cancelled");
    expect(ran).toBe(false);
  });
});
