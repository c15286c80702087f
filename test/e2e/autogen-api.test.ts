import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { streamSettings } from "../../packages/compose/index.ts";
import {
  AUTOGEN_EVENT_TYPES,
  type AutoGenEvent,
  AutoGenEventSchema,
  type AutoGenEventType,
  EVENT_TYPES,
  type RunEvent,
  RunEventSchema,
  toAutoGenEvent,
} from "../../packages/events/index.ts";
import { openStore } from "../../packages/store/index.ts";
import { createStreamApp } from "../../packages/stream/stream-app.ts";
import { DEFAULT_AGENT as defaultAgent } from "../support/agents.ts";
import { answer, countItems, expectCleanError } from "../support/hostile.ts";
import { readSse } from "../support/sse.ts";
import { startRun, startTestStack } from "../support/stack.ts";

/** The built-in agent's stage names, in run order. */
const STAGES = defaultAgent.stages.map((s) => s.name);

/**
 * The AutoGen streaming API (docs/api.md §7, docs/origins.md) against the real local stack:
 * its curl example and its JavaScript client unchanged, GET /test-stream, `format=autogen`
 * (and its former name `seed`), the `types` filter on every stream, POST /ask-stream under
 * AUTH=jwt, and the stage-duration statistics behind GET /runs/{id} `stageEstimates`.
 */

const execFileAsync = promisify(execFile);

type Stack = Awaited<ReturnType<typeof startTestStack>>;
/** AUTH=off: the AutoGen API's examples, filters, formats and statistics. */
let off: Stack;
/** AUTH=jwt with a generated secret and its development token. */
let jwt: Stack;

beforeAll(async () => {
  const started = await Promise.allSettled([startTestStack(), startTestStack({ AUTH: "jwt" })]);
  for (const s of started) if (s.status === "rejected") throw s.reason;
  [off, jwt] = started.map((s) => (s as PromiseFulfilledResult<Stack>).value) as [Stack, Stack];
});
afterAll(async () => {
  await Promise.all([off?.stop(), jwt?.stop()]);
});

/** The AutoGen API's six event types except `error`: what a run that succeeds may send. */
const SUCCESS_TYPES = AUTOGEN_EVENT_TYPES.filter((t) => t !== "error");

/** The data fields the AutoGen API's Event Types table (docs/origins.md) lists per event type. */
const AUTOGEN_TABLE_FIELDS: Record<AutoGenEventType, string[]> = {
  started: ["question", "progress"],
  agent_thinking: ["progress"],
  agent_response: ["progress"],
  tool_execution: ["tool_name", "parameters"],
  completed: ["final_response", "total_messages", "response_length"],
  error: ["error", "progress"],
};

/** Run the real curl binary with `args` and return its stdout (the response body). */
async function curl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync("curl", args, { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * Parse a response body as the AutoGen API's Python client does: `line.strip()`, keep the
 * lines that start with `data: `, `json.loads(line[6:])`.
 */
function pythonClientEvents(body: string): unknown[] {
  return body
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)) as unknown);
}

/** Validate every payload against AutoGenEventSchema (failing with the payload and the issues). */
function parseAutoGen(payloads: unknown[]): AutoGenEvent[] {
  return payloads.map((payload) => {
    const parsed = AutoGenEventSchema.safeParse(payload);
    expect(parsed.success, `${JSON.stringify(payload)}: ${parsed.error?.message}`).toBe(true);
    return parsed.data as AutoGenEvent;
  });
}

/** The run as GET /runs/{id} shows it. */
interface RunBody {
  runId: string;
  status: string;
  answer?: string;
  lastSeq: number;
  stageEstimates: Record<string, { runs: number; meanMs: number }>;
}

async function getRun(stack: Stack, runId: string, headers: Record<string, string> = {}): Promise<RunBody> {
  const res = await fetch(`${stack.url}/runs/${runId}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as RunBody;
}

/** Run ids GET /runs lists for the caller (newest first, at most 50). */
async function listRunIds(stack: Stack, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await fetch(`${stack.url}/runs?limit=50`, { headers });
  expect(res.status).toBe(200);
  return ((await res.json()) as { runs: Array<{ runId: string }> }).runs.map((r) => r.runId);
}

/** Progress values never go down. */
function expectNonDecreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) {
    expect(values[i], `progress at ${i}: ${values.join(",")}`).toBeGreaterThanOrEqual(values[i - 1] ?? 0);
  }
}

/**
 * What an AutoGen API client must see for one whole run asked through POST /ask-stream:
 * `started` with the question first, `completed` last with the run's answer, only its types,
 * progress never decreasing, one run id, dense seqs. Returns the run id.
 */
async function expectWholeAutoGenRun(
  stack: Stack,
  events: AutoGenEvent[],
  question: string,
  headers: Record<string, string> = {},
): Promise<string> {
  expect(events.length).toBeGreaterThan(2);
  const first = events[0]?.event;
  const last = events.at(-1)?.event;
  expect(first?.event_type).toBe("started");
  expect(first?.data.question).toBe(question);
  expect(last?.event_type).toBe("completed");
  for (const e of events) expect(SUCCESS_TYPES).toContain(e.event.event_type);
  expect(events.filter((e) => e.event.event_type === "completed")).toHaveLength(1);
  expectNonDecreasing(events.map((e) => e.event.data.progress));
  expect(last?.data.progress).toBe(100);

  const runId = first?.data.run_id;
  expect(runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  expect(new Set(events.map((e) => e.event.data.run_id))).toEqual(new Set([runId]));
  // Unfiltered: every stored event, in order, so the seqs are 1..N.
  expect(events.map((e) => e.event.data.seq)).toEqual(events.map((_, i) => i + 1));

  const run = await getRun(stack, String(runId), headers);
  expect(run.status).toBe("completed");
  expect(typeof run.answer).toBe("string");
  expect(run.answer?.length).toBeGreaterThan(0);
  expect(last?.data.final_response).toBe(run.answer);
  expect(last?.data.response_length).toBe(run.answer?.length);
  expect(last?.data.total_messages).toBe(run.lastSeq);
  expect(run.lastSeq).toBe(events.length);
  return String(runId);
}

/** Every stored event of a run (one page: the offline model's runs are far below 1,000 events). */
async function storedEvents(stack: Stack, runId: string): Promise<RunEvent[]> {
  const page = await stack.store.events.read(runId, 0, 1000);
  expect(page.hasMore).toBe(false);
  return page.events;
}

/** Start a run with POST /runs, read its stream to the end, and return its stored events. */
async function completedRun(stack: Stack, question: string): Promise<{ runId: string; events: RunEvent[] }> {
  const started = await startRun(stack.url, { question });
  const { frames } = await readSse(started.links.stream);
  expect(frames.at(-1)?.event).toBe("run.completed");
  return { runId: started.runId, events: await storedEvents(stack, started.runId) };
}

let shared: Promise<{ runId: string; events: RunEvent[] }> | undefined;
/** One completed run the filter and format tests read (started once, on first use). */
const sharedRun = () => {
  shared ??= completedRun(off, "How do stage filters work on a stream?");
  return shared;
};

const isStageOrRun = (type: string) => type.startsWith("stage.") || type.startsWith("run.");

describe("stage duration statistics (GET /runs/{id} stageEstimates)", () => {
  // First on the AUTH=off stack on purpose: nothing has run there yet.
  it("has no estimates before any run, then the mean of the completed runs' stage durations", async () => {
    expect(await off.store.stageStats.estimates("default", STAGES)).toEqual({});

    const first = await startRun(off.url, { question: "First run feeding the estimates" });
    const early = await getRun(off, first.runId);
    expect(typeof early.stageEstimates).toBe("object");
    expect(early.stageEstimates).not.toBeNull();
    // Possibly empty; at most this run's own stages can have been recorded so far.
    for (const [stage, estimate] of Object.entries(early.stageEstimates)) {
      expect(STAGES).toContain(stage);
      expect(estimate.runs).toBe(1);
      expect(estimate.meanMs).toBeGreaterThanOrEqual(0);
    }
    await readSse(first.links.stream);
    const second = await completedRun(off, "Second run feeding the estimates");
    const firstEvents = await storedEvents(off, first.runId);

    // The memory stage's duration is recorded after run.completed (it must not delay the
    // run's own events), so it may land a moment after the stream ended.
    let estimates: RunBody["stageEstimates"] = {};
    await vi.waitFor(
      async () => {
        estimates = (await getRun(off, second.runId)).stageEstimates;
        for (const stage of STAGES) expect(estimates[stage]?.runs ?? 0).toBeGreaterThanOrEqual(2);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(Object.keys(estimates).sort()).toEqual([...STAGES].sort());
    for (const stage of STAGES) {
      // Exactly what the two runs' stage.completed events say.
      const durations = [...firstEvents, ...second.events].flatMap((e) =>
        e.type === "stage.completed" && e.stage === stage ? [e.data.durationMs] : [],
      );
      expect(durations.length).toBeGreaterThanOrEqual(2);
      const sum = durations.reduce((a, b) => a + Math.max(0, Math.round(b)), 0);
      expect(estimates[stage]).toEqual({
        runs: durations.length,
        meanMs: Math.round(sum / durations.length),
      });
      expect(estimates[stage]?.meanMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("records and averages durations per stage over a 7-day window (store level)", async () => {
    // A day far from today, so the stack's own runs (recorded under today) are not in it.
    const DAY = 86_400_000;
    const base = Math.floor((Date.now() + 100 * DAY) / DAY) * DAY + 12 * 3_600_000;
    const at = (ms: number) =>
      openStore({
        client: off.store.table.client,
        tableName: off.store.table.tableName,
        retentionSeconds: off.store.table.retentionSeconds,
        now: () => ms,
      });
    const then = at(base);
    const estimates = (store: ReturnType<typeof at>) => store.stageStats.estimates("default", STAGES);
    expect(await estimates(then)).toEqual({});
    await then.stageStats.record("default", "planning", 100);
    await then.stageStats.record("default", "planning", 300);
    expect(await estimates(then)).toEqual({ planning: { runs: 2, meanMs: 200 } });
    // Still inside the window six days later, outside it eight days later.
    expect(await estimates(at(base + 6 * DAY))).toEqual({ planning: { runs: 2, meanMs: 200 } });
    expect(await estimates(at(base + 8 * DAY))).toEqual({});
    // Another day's samples add up with the earlier ones while both are in the window.
    await at(base + 2 * DAY).stageStats.record("default", "planning", 500);
    expect(await estimates(at(base + 2 * DAY))).toEqual({ planning: { runs: 3, meanMs: 300 } });
    expect(await estimates(at(base + 8 * DAY))).toEqual({ planning: { runs: 1, meanMs: 500 } });
    // A negative duration (clock skew) counts as 0 ms; fractions are rounded.
    const later = at(base + 20 * DAY);
    await later.stageStats.record("default", "context", -50);
    await later.stageStats.record("default", "context", 0.4);
    await later.stageStats.record("default", "context", 2.6);
    expect(await estimates(later)).toEqual({ context: { runs: 3, meanMs: 1 } });
  });

  it("keeps each agent's statistics apart and reports only the stages asked for", async () => {
    const DAY = 86_400_000;
    const other = openStore({
      client: off.store.table.client,
      tableName: off.store.table.tableName,
      retentionSeconds: off.store.table.retentionSeconds,
      now: () => Math.floor((Date.now() + 200 * DAY) / DAY) * DAY,
    });
    await other.stageStats.record("writer-agent", "planning", 40);
    await other.stageStats.record("writer-agent", "constructor", 60);
    await other.stageStats.record("default", "planning", 1000);
    expect(await other.stageStats.estimates("writer-agent", ["planning", "constructor", "toString"])).toEqual(
      {
        planning: { runs: 1, meanMs: 40 },
        constructor: { runs: 1, meanMs: 60 },
      },
    );
    expect(await other.stageStats.estimates("writer-agent", ["constructor"])).toEqual({
      constructor: { runs: 1, meanMs: 60 },
    });
    expect(await other.stageStats.estimates("default", ["planning"])).toEqual({
      planning: { runs: 1, meanMs: 1000 },
    });
  });
});

describe("the AutoGen API's own examples against AUTH=off", () => {
  it("its curl command streams a whole run in the AutoGen event shape", async () => {
    const question = "Generate a business report";
    const stdout = await curl([
      "-N",
      "-X",
      "POST",
      `${off.url}/ask-stream`,
      "-H",
      "Content-Type: application/json",
      "-d",
      '{"question": "Generate a business report"}',
    ]);
    const events = parseAutoGen(pythonClientEvents(stdout));
    await expectWholeAutoGenRun(off, events, question);
    // The frames carry no `event:` field (AutoGen API clients read data lines / onmessage).
    expect(stdout).not.toMatch(/^event:/m);
    expect(stdout).toMatch(/^id: 1$/m);
  });

  it("its JavaScript client (fetch, reader, split on newlines) reads the same shape", async () => {
    const question = "Generate a monthly business report for our sales performance";
    // As in that API's documentation (docs/origins.md), with the host added.
    const response = await fetch(`${off.url}/ask-stream`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    if (!response.body) throw new Error("no body");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const payloads: unknown[] = [];
    const lines: string[] = [];
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      const chunk = decoder.decode(value);
      for (const line of chunk.split("\n")) {
        if (line.startsWith("data: ")) {
          const event = JSON.parse(line.slice(6)) as AutoGenEvent;
          payloads.push(event);
          lines.push(`${event.event.agent_name}: ${event.event.message}`);
        }
      }
    }
    const events = parseAutoGen(payloads);
    const runId = await expectWholeAutoGenRun(off, events, question);
    expect(response.headers.get("x-run-id")).toBe(runId);
    // The console lines that client prints are meaningful: named agents, non-empty messages.
    expect(lines.every((l) => /^\w+: .+/.test(l))).toBe(true);
    expect(new Set(events.map((e) => e.event.agent_name))).toEqual(
      new Set(["Stagecast", ...STAGES.map((s) => `${s[0]?.toUpperCase()}${s.slice(1)}Agent`)]),
    );
  });

  it("GET /test-stream (curl -N): a synthetic run in the AutoGen shape, ending with completed, storing nothing", async () => {
    const before = await listRunIds(off);
    const stdout = await curl(["-N", `${off.url}/test-stream`]);
    const events = parseAutoGen(pythonClientEvents(stdout));
    expect(events.length).toBeGreaterThan(5);
    expect(events[0]?.event.event_type).toBe("started");
    expect(events.at(-1)?.event.event_type).toBe("completed");
    for (const e of events) expect(SUCCESS_TYPES).toContain(e.event.event_type);
    // Each of the five appears (the synthetic run runs one tool and writes an answer).
    expect(new Set(events.map((e) => e.event.event_type))).toEqual(new Set(SUCCESS_TYPES));
    expectNonDecreasing(events.map((e) => e.event.data.progress));
    const last = events.at(-1)?.event.data;
    const deltas = events.flatMap((e) =>
      typeof e.event.data.delta === "string" ? [e.event.data.delta] : [],
    );
    expect(last?.final_response).toBe(deltas.join(""));
    expect(last?.response_length).toBe(deltas.join("").length);
    expect(last?.total_messages).toBe(events.length);

    // Nothing stored: the synthetic run id is unknown to the API, and the list is unchanged.
    const runId = String(events[0]?.event.data.run_id);
    expect(runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expectCleanError(await answer(fetch(`${off.url}/runs/${runId}`)), 404, "run_not_found");
    expect(await listRunIds(off)).toEqual(before);
  });

  // The AutoGen API's Event Types table gives tool_execution `tool_name` and `parameters`: the
  // completion frame must carry the input too (tool.completed repeats it for this reason).
  it("every frame carries the data fields the AutoGen API's Event Types table lists for its type", async () => {
    const synthetic = parseAutoGen(pythonClientEvents(await curl(["-N", `${off.url}/test-stream`])));
    const res = await fetch(`${off.url}/ask-stream`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ question: "What is 17 * 23?" }),
    });
    const real = parseAutoGen(pythonClientEvents(await res.text()));
    const missing: string[] = [];
    for (const [name, events] of [
      ["test-stream", synthetic],
      ["ask-stream", real],
    ] as const) {
      expect(events.some((e) => e.event.event_type === "tool_execution")).toBe(true);
      for (const e of events) {
        for (const field of AUTOGEN_TABLE_FIELDS[e.event.event_type]) {
          if (!(field in e.event.data)) {
            missing.push(
              `${name} seq ${e.event.data.seq} ${e.event.event_type} (${e.event.message}): ${field}`,
            );
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("GET /test-stream tells a reconnecting EventSource (Last-Event-ID) to stop with 204", async () => {
    const res = await fetch(`${off.url}/test-stream`, { headers: { "last-event-id": "20" } });
    expect(res.status).toBe(204);
  });

  it("the stream app alone (a Function URL) answers unknown paths with the one error shape", async () => {
    const app = createStreamApp({
      store: off.store,
      settings: streamSettings(off.config),
      auth: { mode: "off" },
    });
    const res = await app.request("/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("GET /test-stream?format=stagecast sends RunEvent frames with event: type and id: seq", async () => {
    const res = await readSse(`${off.url}/test-stream?format=stagecast`);
    expect(res.status).toBe(200);
    expect(res.ended).toBe(true);
    expect(res.frames.length).toBeGreaterThan(5);
    const events = res.frames.map((f) => {
      const parsed = RunEventSchema.safeParse(JSON.parse(f.data));
      expect(parsed.success, `${f.data}: ${parsed.error?.message}`).toBe(true);
      const event = parsed.data as RunEvent;
      expect(f.event).toBe(event.type);
      expect(f.id).toBe(String(event.seq));
      expect(EVENT_TYPES).toContain(event.type);
      return event;
    });
    expect(events[0]).toMatchObject({
      type: "run.queued",
      data: { agent: "synthetic", stages: STAGES.map((name) => ({ name, weight: 1 })) },
    });
    expect(events.at(-1)?.type).toBe("run.completed");
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === "stage.started").map((e) => e.stage)).toEqual([...STAGES]);
    expectNonDecreasing(events.map((e) => e.progress));
  });
});

describe("the types filter", () => {
  it("types=stage.*,run.* sends only those types plus the terminal event, with ids = seqs (gaps)", async () => {
    const { runId, events } = await sharedRun();
    const res = await readSse(`${off.url}/runs/${runId}/stream?types=stage.*,run.*`);
    expect(res.status).toBe(200);
    expect(res.ended).toBe(true);
    const frames = res.frames.filter((f) => f.event !== "heartbeat");
    const expected = events.filter((e) => isStageOrRun(e.type));
    // Something was left out (deltas and tools), so the filter is not a no-op.
    expect(expected.length).toBeLessThan(events.length);
    expect(frames.map((f) => ({ id: f.id, event: f.event, data: JSON.parse(f.data) }))).toEqual(
      expected.map((e) => ({ id: String(e.seq), event: e.type, data: e })),
    );
    expect(frames.at(-1)?.event).toBe("run.completed");
    const seqs = frames.map((f) => Number(f.id));
    expect(seqs.some((s, i) => i > 0 && s - (seqs[i - 1] ?? 0) > 1)).toBe(true);
  });

  it("resumes a filtered stream with Last-Event-ID, also from inside a gap", async () => {
    const { runId, events } = await sharedRun();
    const url = `${off.url}/runs/${runId}/stream?types=stage.*,run.*`;
    const whole = (await readSse(url)).frames.filter((f) => f.event !== "heartbeat");
    const seqs = whole.map((f) => Number(f.id));
    // Stop right before a gap: the next frame's seq is more than one past the last one read.
    const gap = seqs.findIndex((s, i) => i + 1 < seqs.length && (seqs[i + 1] ?? 0) - s > 1);
    expect(gap).toBeGreaterThanOrEqual(0);
    const k = gap + 1;
    const first = await readSse(url, { stopAfter: (f) => f.length === k });
    expect(first.ended).toBe(false);
    const lastId = first.frames.at(-1)?.id ?? "";
    expect(lastId).toBe(String(seqs[gap]));
    const rest = await readSse(url, { headers: { "last-event-id": lastId } });
    const strip = (f: { id?: string | undefined; event?: string | undefined; data: string }) => ({
      id: f.id,
      event: f.event,
      data: f.data,
    });
    expect([...first.frames, ...rest.frames].map(strip)).toEqual(whole.map(strip));

    // Resuming from the seq of an event the filter left out continues with the next one it keeps.
    const skipped = events.find((e) => e.seq > (seqs[gap] ?? 0) && !isStageOrRun(e.type));
    if (!skipped) throw new Error("no filtered-out event in the gap");
    const fromSkipped = await readSse(url, { headers: { "last-event-id": String(skipped.seq) } });
    expect(fromSkipped.frames.map(strip)).toEqual(whole.filter((f) => Number(f.id) > skipped.seq).map(strip));
  });

  it("types=llm.delta on a completed run sends the deltas and still ends with the terminal event", async () => {
    const { runId, events } = await sharedRun();
    const res = await readSse(`${off.url}/runs/${runId}/stream?types=llm.delta`);
    expect(res.ended).toBe(true);
    const frames = res.frames.filter((f) => f.event !== "heartbeat");
    const deltas = events.filter((e) => e.type === "llm.delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(frames.map((f) => f.event)).toEqual([...deltas.map(() => "llm.delta"), "run.completed"]);
    expect(frames.map((f) => f.id)).toEqual([...deltas, events.at(-1)].map((e) => String(e?.seq)));
  });

  it("refuses bad patterns and formats with a 400 JSON error and opens no stream", async () => {
    const { runId } = await sharedRun();
    const stream = `${off.url}/runs/${runId}/stream`;
    const thirtyThree = Array.from({ length: 33 }, () => "run.*").join(",");
    for (const types of ["bogus.*", "", "STAGE.*", thirtyThree, "completed", "stage", "stage.*,", "*.*"]) {
      const a = await answer(fetch(`${stream}?types=${encodeURIComponent(types)}`));
      expect(a.headers.get("content-type") ?? "").not.toMatch(/event-stream/);
      expectCleanError(a, 400, "invalid_types");
    }
    // 32 patterns is still a filter.
    const thirtyTwo = Array.from({ length: 32 }, () => "run.*").join(",");
    const ok = await readSse(`${stream}?types=${thirtyTwo}`);
    expect(ok.status).toBe(200);
    expect(ok.frames.every((f) => f.event?.startsWith("run."))).toBe(true);
    expect(ok.frames.at(-1)?.event).toBe("run.completed");

    for (const format of ["nope", "AUTOGEN", "SEED", ""]) {
      const a = await answer(fetch(`${stream}?format=${format}`));
      expectCleanError(a, 400, "invalid_format");
    }
    // The AutoGen format's type names are that API's: stage.* names nothing there.
    expectCleanError(await answer(fetch(`${stream}?format=autogen&types=stage.*`)), 400, "invalid_types");
    // The same validation on the AutoGen API's routes.
    expectCleanError(await answer(fetch(`${off.url}/test-stream?types=bogus`)), 400, "invalid_types");
    const badFormat = await answer(fetch(`${off.url}/test-stream?format=nope`));
    expectCleanError(badFormat, 400, "invalid_format");
    // The error lists the formats by their current names.
    expect(badFormat.body).toContain("stagecast, message, autogen");
  });

  it("filters GET /test-stream in both formats", async () => {
    const autogen = parseAutoGen(
      pythonClientEvents(await curl(["-N", `${off.url}/test-stream?types=tool_execution`])),
    );
    expect(autogen.map((e) => e.event.event_type)).toEqual(["tool_execution", "tool_execution", "completed"]);
    expect(autogen.map((e) => e.event.data.tool_name)).toEqual(["calculator", "calculator", undefined]);

    const native = await readSse(`${off.url}/test-stream?format=stagecast&types=llm.*`);
    expect(native.frames.map((f) => f.event)).toEqual([
      "llm.delta",
      "llm.delta",
      "llm.delta",
      "run.completed",
    ]);
    const ids = native.frames.map((f) => Number(f.id));
    expect(ids).toEqual(native.frames.map((f) => RunEventSchema.parse(JSON.parse(f.data)).seq));
    expect(ids.at(-1)).toBeGreaterThan(ids.length); // gaps: the rest was left out
  });

  it("POST /ask-stream?types=completed,error sends only the terminal frame; a bad filter starts no run", async () => {
    const before = await listRunIds(off);
    for (const types of ["stage.*", "bogus", ""]) {
      const a = await answer(
        fetch(`${off.url}/ask-stream?types=${encodeURIComponent(types)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: "Never started" }),
        }),
      );
      expectCleanError(a, 400, "invalid_types");
    }
    expectCleanError(
      await answer(
        fetch(`${off.url}/ask-stream?format=nope`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ question: "Never started" }),
        }),
      ),
      400,
      "invalid_format",
    );
    expect(await listRunIds(off)).toEqual(before);

    const res = await fetch(`${off.url}/ask-stream?types=completed,error`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "Only tell me when it is done" }),
    });
    expect(res.status).toBe(200);
    const events = parseAutoGen(pythonClientEvents(await res.text()));
    expect(events.map((e) => e.event.event_type)).toEqual(["completed"]);
    const runId = String(events[0]?.event.data.run_id);
    expect(res.headers.get("x-run-id")).toBe(runId);
    const run = await getRun(off, runId);
    expect(events[0]?.event.data.final_response).toBe(run.answer);
    expect(events[0]?.event.data.seq).toBe(run.lastSeq);
    expect(run.lastSeq).toBeGreaterThan(1); // the other events exist; they were filtered out

    // The native format on the same route: run.* only.
    const native = await readSse(`${off.url}/runs/${runId}/stream?types=run.*`);
    expect(native.frames.map((f) => f.event)).toEqual(["run.queued", "run.started", "run.completed"]);
  });
});

describe("format=autogen on GET /runs/{id}/stream", () => {
  it("equals toAutoGenEvent() of the stored events frame for frame, with id = seq and no event field", async () => {
    const { runId, events } = await sharedRun();
    const url = `${off.url}/runs/${runId}/stream?format=autogen`;
    const res = await readSse(url);
    expect(res.status).toBe(200);
    expect(res.ended).toBe(true);
    expect(res.frames.map((f) => ({ id: f.id, data: JSON.parse(f.data) }))).toEqual(
      events.map((e) => ({ id: String(e.seq), data: JSON.parse(JSON.stringify(toAutoGenEvent(e))) })),
    );
    expect(res.frames.every((f) => f.event === undefined)).toBe(true);
    const raw = await (await fetch(url)).text();
    expect(raw).not.toMatch(/^event:/m);
    expect(pythonClientEvents(raw)).toHaveLength(events.length);

    // Resuming with after=N (or Last-Event-ID) continues at N+1.
    const n = 5;
    const afterN = await readSse(`${url}&after=${n}`);
    expect(afterN.frames[0]?.id).toBe(String(n + 1));
    expect(afterN.frames.map((f) => f.data)).toEqual(res.frames.slice(n).map((f) => f.data));
    const viaHeader = await readSse(url, { headers: { "last-event-id": String(n) } });
    expect(viaHeader.frames.map((f) => f.id)).toEqual(afterN.frames.map((f) => f.id));
    // At the end: nothing left, 204.
    expect((await fetch(`${url}&after=${events.length}`)).status).toBe(204);
  });

  it("format=seed (the format's former name) still yields the same frames as format=autogen", async () => {
    const { runId } = await sharedRun();
    const read = async (format: string) => {
      const res = await readSse(`${off.url}/runs/${runId}/stream?format=${format}`);
      expect(res.status, format).toBe(200);
      return { frames: res.frames.map(({ id, event, data }) => ({ id, event, data })), retries: res.retries };
    };
    const autogen = await read("autogen");
    expect(autogen.frames.length).toBeGreaterThan(2);
    expect(await read("seed")).toEqual(autogen);
  });
});

describe("POST /ask-stream with AUTH=jwt", () => {
  const json = { "content-type": "application/json" };
  const bearer = () => ({ authorization: `Bearer ${jwt.devToken}` });

  // First on the jwt stack: nothing runs there yet, so the table's item count is stable.
  it("refuses before any stream and starts no run: 401 without a token, 400/415 for a bad body", async () => {
    expect(jwt.devToken).toBeTruthy();
    const items = await countItems(jwt.store);
    const ask = (headers: Record<string, string>, body: string, query = "") =>
      answer(fetch(`${jwt.url}/ask-stream${query}`, { method: "POST", headers, body }));

    const none = await ask(json, '{"question": "Generate a business report"}');
    expectCleanError(none, 401, "missing_token");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expectCleanError(
      await ask({ ...json, authorization: "Bearer not-a-jwt" }, '{"question": "x"}'),
      401,
      "invalid_token",
    );
    expectCleanError(await ask({ ...json, ...bearer() }, '{"question": '), 400, "invalid_json");
    expectCleanError(
      await ask({ "content-type": "text/plain", ...bearer() }, '{"question": "Generate a business report"}'),
      415,
      "unsupported_media_type",
    );
    expectCleanError(await ask({ ...json, ...bearer() }, '{"question": ""}'), 400, "invalid_request");
    expectCleanError(await ask({ ...json, ...bearer() }, '{"question": "   "}'), 400, "invalid_request");
    expectCleanError(
      await ask({ ...json, ...bearer() }, '{"question": "x"}', "?types=bogus"),
      400,
      "invalid_types",
    );

    expect(await listRunIds(jwt, bearer())).toEqual([]);
    expect(await countItems(jwt.store)).toBe(items);

    // GET /test-stream needs no token even here, and stores nothing either.
    const synthetic = parseAutoGen(pythonClientEvents(await curl(["-N", `${jwt.url}/test-stream`])));
    expect(synthetic.at(-1)?.event.event_type).toBe("completed");
    expect(await countItems(jwt.store)).toBe(items);
  });

  it("streams a run owned by the token's principal", async () => {
    const question = "Generate a business report";
    const res = await fetch(`${jwt.url}/ask-stream`, {
      method: "POST",
      headers: { ...json, ...bearer() },
      body: JSON.stringify({ question }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseAutoGen(pythonClientEvents(await res.text()));
    const runId = await expectWholeAutoGenRun(jwt, events, question, bearer());
    expect(res.headers.get("x-run-id")).toBe(runId);

    // Owned by the token's subject: stored so, listed for it, unknown without the token.
    const sub = (
      JSON.parse(Buffer.from(jwt.devToken?.split(".")[1] ?? "", "base64url").toString()) as {
        sub: string;
      }
    ).sub;
    expect((await jwt.store.runs.get(runId))?.owner).toBe(sub);
    expect(await listRunIds(jwt, bearer())).toEqual([runId]);
    expectCleanError(await answer(fetch(`${jwt.url}/runs/${runId}`)), 401, "missing_token");
    // Its stream token (minted for the owner) replays it in the AutoGen format.
    const tokenRes = await fetch(`${jwt.url}/runs/${runId}/stream-token`, {
      method: "POST",
      headers: bearer(),
    });
    expect(tokenRes.status).toBe(200);
    const { streamToken } = (await tokenRes.json()) as { streamToken: string };
    const replay = await readSse(`${jwt.url}/runs/${runId}/stream?format=autogen&token=${streamToken}`);
    expect(replay.frames.map((f) => JSON.parse(f.data))).toEqual(events);
  });
});
