import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { createClient } from "../../../packages/client/index.ts";
import { type UseStartRunResult, useStartRun } from "../../../packages/react/index.ts";

/**
 * useStartRun's first render, with react-dom/server: nothing started, nothing requested.
 * Starting runs (pending, runId, the run it hands to useRun) is driven in Chromium by
 * test/e2e/packages.test.ts and test/e2e/react-app.test.ts.
 */
describe("useStartRun's first render", () => {
  it("has no run, no error, nothing pending, and requests nothing", () => {
    const requests: string[] = [];
    const client = createClient({
      baseUrl: "http://127.0.0.1:9",
      fetch: async (input) => {
        requests.push(String(input));
        throw new TypeError("no request expected");
      },
    });
    let result: UseStartRunResult | undefined;
    const Probe = () => {
      result = useStartRun({ client });
      return null;
    };
    renderToString(createElement(Probe));
    expect(result).toMatchObject({ runId: undefined, started: undefined, pending: false, error: undefined });
    expect(typeof result?.start).toBe("function");
    expect(typeof result?.reset).toBe("function");
    expect(requests).toEqual([]);
  });
});
