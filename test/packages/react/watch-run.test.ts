import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createClient,
  InvalidPollUrlError,
  StagecastApiError,
  type StagecastClient,
} from "../../../packages/client/index.ts";
import { type RunWatch, watchRun } from "../../../packages/react/index.ts";
import { DEFAULT_STAGES as STAGES } from "../../support/agents.ts";
import { startTestStack } from "../../support/stack.ts";

/**
 * watchRun, the React-free core of useRun, against the real local stack (dynalite, the local
 * Step Functions runner, the offline model, the HTTP server): nothing is mocked.
 */

type Stack = Awaited<ReturnType<typeof startTestStack>>;

const UNKNOWN_RUN = "01M7Z3AYGVMJPM6ANRF6QTT349";

/** What a report showed when it was made, to compare with the same report after the run ended. */
const shown = (watch: RunWatch) =>
  JSON.stringify({
    answer: watch.view.answer,
    stages: watch.view.stages.map((s) => [s.stage, s.state]),
    lastSeq: watch.view.lastSeq,
  });

describe("watchRun against the local stack", () => {
  let stack: Stack;
  let client: StagecastClient;
  beforeAll(async () => {
    stack = await startTestStack({ OFFLINE_MODEL_TOKENS_PER_SECOND: "300" });
    client = createClient({ baseUrl: stack.url, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("folds a run from its first event to its end, each report a new view that later events never change", async () => {
    const { runId } = await client.startRun({ question: "How do I stream progress from Lambda?" });
    const reports: RunWatch[] = [];
    const atReport: string[] = [];
    const last = await watchRun(client, runId, {
      signal: new AbortController().signal,
      onChange: (watch) => {
        reports.push(watch);
        atReport.push(shown(watch));
      },
    });

    const run = await client.getRun(runId);
    expect(last.connection).toBe("closed");
    expect(last.connectionError).toBeUndefined();
    expect(last.view.terminal).toBe("run.completed");
    expect(last.view.status).toBe("completed");
    expect(last.view.answer).toBe(run.answer);
    expect(last.view.lastSeq).toBe(run.lastSeq);
    expect(last.view.stages.map((s) => [s.stage, s.state])).toEqual(STAGES.map((s) => [s, "done"]));
    expect(reports.at(-1)).toBe(last);

    const states = reports.map((r) => r.connection).filter((s, i, all) => s !== all[i - 1]);
    expect(states[0]).toBe("connecting");
    expect(states).toContain("open");
    expect(states.at(-1)).toBe("closed");

    // Every report that brought an event holds a view of its own, and no later event changed it.
    const withEvents = reports.filter((r, i) => r.view.lastSeq !== (reports[i - 1]?.view.lastSeq ?? 0));
    expect(withEvents.map((r) => r.view.lastSeq)).toEqual(
      Array.from({ length: run.lastSeq }, (_, i) => i + 1),
    );
    expect(new Set(withEvents.map((r) => r.view)).size).toBe(withEvents.length);
    expect(new Set(withEvents.flatMap((r) => r.view.stages)).size).toBe(
      withEvents.reduce((n, r) => n + r.view.stages.length, 0),
    );
    expect(reports.map(shown)).toEqual(atReport);
  });

  it("stops at abort: the promise resolves and nothing is reported after it", async () => {
    const { runId } = await client.startRun({ question: "Abort my watch, not my run." });
    const controller = new AbortController();
    let afterAbort = 0;
    const last = await watchRun(client, runId, {
      signal: controller.signal,
      onChange: (watch) => {
        if (controller.signal.aborted) afterAbort++;
        if (watch.view.lastSeq >= 2) controller.abort();
      },
    });
    expect(afterAbort).toBe(0);
    expect(last.connection).not.toBe("failed");
    expect(last.view.lastSeq).toBe(2);
    expect(last.view.terminal).toBeUndefined();
  });

  it("reports a run that does not exist as failed, with the API's error", async () => {
    const reports: RunWatch[] = [];
    const last = await watchRun(client, UNKNOWN_RUN, {
      signal: new AbortController().signal,
      onChange: (watch) => reports.push(watch),
    });
    expect(last.connection).toBe("failed");
    expect(last.connectionError).toBeInstanceOf(StagecastApiError);
    expect((last.connectionError as StagecastApiError).code).toBe("run_not_found");
    expect(reports.at(-1)).toBe(last);
    expect(last.view.stages).toEqual([]);
  });

  it("long-poll: the same fold and states, from the owner's mode or from a shared pollUrl alone", async () => {
    const { runId } = await client.startRun({ question: "Watch me by long-poll." });
    const requests: string[] = [];
    const audience = createClient({
      baseUrl: "http://127.0.0.1:9",
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      fetch: (input, init) => {
        requests.push(new URL(String(input)).pathname);
        return fetch(input, init);
      },
    });
    const { links } = await client.getWatchLink(runId);
    const states: string[] = [];
    const [owned, shared] = await Promise.all([
      watchRun(client, runId, {
        signal: new AbortController().signal,
        onChange: () => {},
        mode: "long-poll",
      }),
      watchRun(audience, runId, {
        signal: new AbortController().signal,
        onChange: (watch) => states.push(watch.connection),
        pollUrl: links.poll,
      }),
    ]);
    const run = await client.getRun(runId);
    for (const last of [owned, shared]) {
      expect(last.connection).toBe("closed");
      expect(last.view.terminal).toBe("run.completed");
      expect(last.view.answer).toBe(run.answer);
      expect(last.view.lastSeq).toBe(run.lastSeq);
      expect(last.view.stages.map((s) => [s.stage, s.state])).toEqual(STAGES.map((s) => [s, "done"]));
    }
    expect(states.filter((s, i, all) => s !== all[i - 1])).toEqual(["connecting", "open", "closed"]);
    expect(new Set(requests)).toEqual(new Set([`/runs/${runId}/poll`]));
  });

  it("long-poll: a pollUrl for another run fails the watch with InvalidPollUrlError, before any request", async () => {
    const last = await watchRun(client, UNKNOWN_RUN, {
      signal: new AbortController().signal,
      onChange: () => {},
      pollUrl: `${stack.url}/runs/01M8RZASWB74KHP7WJJSRK1AAR/poll`,
    });
    expect(last.connection).toBe("failed");
    expect(last.connectionError).toBeInstanceOf(InvalidPollUrlError);
  });
});
