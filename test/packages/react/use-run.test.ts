import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { createClient, InvalidPollUrlError } from "../../../packages/client/index.ts";
import {
  StagecastProvider,
  type UseRunOptions,
  type UseRunResult,
  useRun,
} from "../../../packages/react/index.ts";

/**
 * useRun's first render, with react-dom/server: what a component shows before any event, and
 * that rendering opens no stream (effects do not run on the server, so server rendering is
 * safe). Its live behaviour (events, runId changes, unmount) is driven in Chromium by
 * test/e2e/packages.test.ts; the fold under it by watch-run.test.ts.
 */

const RUN = "01M7Z3AYGVMJPM6ANRF6QTT349";

function render(
  runId: string | undefined,
  options: UseRunOptions = {},
): Omit<UseRunResult, "cancel" | "view"> & { view: unknown } {
  const requests: string[] = [];
  const client = createClient({
    baseUrl: "http://127.0.0.1:9",
    fetch: async (input) => {
      requests.push(String(input));
      throw new TypeError("no request expected");
    },
  });
  let result: UseRunResult | undefined;
  const Probe = () => {
    result = useRun(runId, options);
    return null;
  };
  renderToString(createElement(StagecastProvider, { client }, createElement(Probe)));
  expect(requests).toEqual([]);
  if (!result) throw new Error("the probe did not render");
  const { cancel: _cancel, ...shown } = result;
  return shown;
}

describe("useRun's first render", () => {
  it("shows an empty run, connecting, for a runId", () => {
    const shown = render(RUN);
    expect(shown).toMatchObject({
      runId: RUN,
      stages: [],
      progress: 0,
      message: "",
      answer: "",
      status: "queued",
      terminal: undefined,
      error: undefined,
      connection: "connecting",
      failures: 0,
      connectionError: undefined,
    });
    expect(shown.view).toMatchObject({ runId: RUN, stages: [], tools: [], lastSeq: 0 });
  });

  it("shows nothing, idle, without a runId", () => {
    for (const runId of [undefined, ""]) {
      expect(render(runId)).toEqual({
        runId: undefined,
        view: undefined,
        stages: [],
        progress: 0,
        message: "",
        answer: "",
        status: undefined,
        terminal: undefined,
        error: undefined,
        connection: "idle",
        failures: 0,
        connectionError: undefined,
      });
    }
  });

  it("with a shared pollUrl and no runId, shows the run the link names, connecting", () => {
    const pollUrl = `https://stream.example/runs/${RUN}/poll?token=abc`;
    const shown = render(undefined, { pollUrl });
    expect(shown).toMatchObject({ runId: RUN, connection: "connecting", connectionError: undefined });
    expect(shown.view).toMatchObject({ runId: RUN, lastSeq: 0 });
    expect(render(undefined, { mode: "long-poll" }).connection).toBe("idle");
  });

  it("with a pollUrl that is not a poll link, fails at once with InvalidPollUrlError and opens nothing", () => {
    const shown = render(undefined, { pollUrl: "https://stream.example/runs/not-a-run/stream" });
    expect(shown).toMatchObject({ runId: undefined, view: undefined, connection: "failed" });
    expect(shown.connectionError).toBeInstanceOf(InvalidPollUrlError);
  });
});
