import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { calculatorTool, MAX_EXPRESSION_CHARS } from "../packages/agent/tools/calculator.ts";
import { currentTimeTool } from "../packages/agent/tools/current-time.ts";
import { type HttpGetOptions, httpGetTool } from "../packages/agent/tools/http-get.ts";
import {
  createDefaultTools,
  DEFAULT_TOOL_TIMEOUT_MS,
  defineTool,
  inputJsonSchema,
  runTool,
  TOOL_RESULT_MAX_CHARS,
  type Tool,
  type ToolContext,
  ToolError,
  type ToolOutcome,
  ToolRegistry,
  truncateResult,
} from "../packages/agent/tools/index.ts";
import { MEMORY_SEARCH_SCAN, memorySearchTool } from "../packages/agent/tools/memory-search.ts";
import type { Store } from "../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "./support/dynamo.ts";

const TABLE = "stagecast-tools-test";
const PROJECT = "proj-tools";
const OTHER_PROJECT = "proj-other";
const NO_HTTP: HttpGetOptions = { allowlist: [], timeoutMs: 1000, maxBytes: 1000 };

let dynamo: TestDynamo;
let store: Store;

beforeAll(async () => {
  dynamo = await startTestDynamo(TABLE);
  store = dynamo.store;
});

afterAll(async () => {
  await dynamo?.close();
});

/** A tool context over the test store; `overrides` replace fields (signal, now, projectId). */
function ctx(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    runId: "run-tools",
    store,
    signal: new AbortController().signal,
    now: () => Date.now(),
    ...overrides,
  };
}

/** Narrow an outcome to a success and return its result. */
function resultOf(outcome: ToolOutcome): Record<string, unknown> {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome.error)}`);
  return outcome.result as Record<string, unknown>;
}

/** Narrow an outcome to a failure and return its error. */
function errorOf(outcome: ToolOutcome): { code: string; message: string } {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.error;
}

const calc = (expression: string) => runTool(calculatorTool, { expression }, ctx());

describe("calculator", () => {
  it("computes a percentage exactly", async () => {
    const result = resultOf(await calc("17 / 100 * 2340"));
    expect(result).toEqual({ expression: "17 / 100 * 2340", result: "397.8" });
  });

  it("writes numbers below 10^15 in plain notation, not 7.006652e+6", async () => {
    expect(resultOf(await calc("1234 * 5678")).result).toBe("7006652");
    expect(resultOf(await calc("2^36")).result).toBe("68719476736");
  });

  it("knows functions and powers", async () => {
    expect(resultOf(await calc("sqrt(16) + 2^3")).result).toBe("12");
  });

  it("rounds away floating-point noise (12 significant digits)", async () => {
    expect(resultOf(await calc("0.1 + 0.2")).result).toBe("0.3");
    expect(resultOf(await calc("1 / 3")).result).toBe("0.333333333333");
  });

  it("converts units", async () => {
    expect(resultOf(await calc("5 km to mi")).result).toBe("3.10685596119 mi");
    expect(resultOf(await calc("2 hours to minutes")).result).toBe("120 minutes");
  });

  it("reports a syntax error as a tool_error naming the expression and the problem", async () => {
    const error = errorOf(await calc("1 +"));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain('"1 +"');
    expect(error.message).toMatch(/unexpected end of expression/i);
  });

  it("offers lists, statistics, rounding, number theory, combinatorics, constants and percentages", async () => {
    const cases: [string, string][] = [
      ["mean([1, 2, 3, 4])", "2.5"],
      ["median([5, 1, 3])", "3"],
      ["max(3, 7, 2) - min([4, 9])", "3"],
      ["sum([1, 2, 3]) * 2", "12"],
      ["std([2, 4, 4, 4, 5, 5, 7, 9])", "2.1380899353"],
      ["round(pi, 3)", "3.142"],
      ["gcd(12, 18) + lcm(4, 6)", "18"],
      ["10 mod 3", "1"],
      ["abs(-2) * sign(-5)", "-2"],
      ["5! / combinations(5, 2)", "12"],
      ["log(e^2) + log10(1000)", "5"],
      ["sin(pi / 2) + cos(0)", "2"],
      ["100 + 5%", "105"],
      ["[1, 2, 3] * 2", "[2, 4, 6]"],
      ["sqrt(-4)", "2i"],
      ["60 km/h to m/s", "16.6666666667 m / s"],
    ];
    for (const [expression, expected] of cases) {
      expect(resultOf(await calc(expression)).result, expression).toBe(expected);
    }
  });

  it("reports a function that is not on the allow-list as a tool_error naming it", async () => {
    const error = errorOf(await calc("foo(3)"));
    expect(error).toEqual({
      code: "tool_error",
      message: 'cannot evaluate "foo(3)": foo is not an available function',
    });
  });

  it("refuses function definitions, so no expression can recurse", async () => {
    expect(errorOf(await calc("f(x) = x^2"))).toEqual({
      code: "tool_error",
      message: 'cannot evaluate "f(x) = x^2": defining functions is not allowed',
    });
    const error = errorOf(await calc("f(n)=n<1?0:f(n-1)+f(n-1); f(20)"));
    expect(error.code).toBe("tool_error");
  });

  it.each([
    'evaluate("1+1")',
    "import({}, {})",
    'createUnit("foo")',
    'parse("1+1")',
    'compile("1+1")',
    'simplify("x+x")',
    'derivative("x^2", "x")',
    'config({number: "Fraction"})',
    "random([700, 700])",
    'isPrime(bignumber("170141183460469231731687303715884105727"))',
    "zeros(20000, 20000)",
    "range(1, 1e9)",
    "typed(1)",
    "matrix([1])",
    "identity(3)",
  ])("cannot call %s: only allow-listed functions are callable", async (expression) => {
    const error = errorOf(await calc(expression));
    expect(error.code).toBe("tool_error");
    const name = expression.slice(0, expression.indexOf("("));
    expect(error.message).toContain(`${name} is not an available function`);
  });

  it.each([
    ['parser().evaluate("1+1")', "only named functions can be called"],
    ["a = 5", "assigning variables is not allowed"],
    ["1; 2", "only one expression is allowed"],
    ["1:1e9", "ranges (a:b) are not allowed"],
    ["[1, 2][1]", "property access and indexing are not allowed"],
    ["pi.foo", "property access and indexing are not allowed"],
    ["{a: 1}", "objects are not allowed"],
    ['"text"', "only numbers are allowed as values"],
    ["true", "only numbers are allowed as values"],
    ["1 < 2", "the < operator is not available"],
    ["1 ? 2 : 3", "conditionals (a ? b : c) are not allowed"],
    ["sqrt", "sqrt must be called, as in sqrt(…)"],
    ["config", "config is not a known constant or unit"],
    ["x + 1", "x is not a known constant or unit"],
  ])("refuses %s", async (expression, reason) => {
    expect(errorOf(await calc(expression))).toEqual({
      code: "tool_error",
      message: `cannot evaluate "${expression}": ${reason}`,
    });
  });

  it("a unit created in one call does not exist in the next (createUnit is not available)", async () => {
    expect((await calc('createUnit("foo")')).ok).toBe(false);
    const error = errorOf(await calc("1 foo"));
    expect(error.code).toBe("tool_error");
  });

  it("cannot change the shared mathjs configuration from an expression (config is not available)", async () => {
    expect((await calc('config({number: "Fraction"})')).ok).toBe(false);
    expect(resultOf(await calc("1 / 3")).result).toBe("0.333333333333");
  });

  it("runs in a worker: an expensive expression ends at the 2 s limit as tool_timeout and never blocks the event loop", async () => {
    expect(calculatorTool.isolation).toBe("worker");
    let last = performance.now();
    let gapMs = 0;
    const tick = setInterval(() => {
      gapMs = Math.max(gapMs, performance.now() - last);
      last = performance.now();
    }, 5);
    const outcome = await calc("combinations(10000000000, 5000000000)").finally(() => clearInterval(tick));
    expect(errorOf(outcome)).toEqual({
      code: "tool_timeout",
      message: "calculator took longer than 2000 ms.",
    });
    expect(outcome.durationMs).toBeLessThan(2500);
    expect(gapMs).toBeLessThan(100);
    // The next call gets a fresh worker.
    expect(resultOf(await calc("1 + 1")).result).toBe("2");
  });

  it("rejects an over-long expression as invalid_tool_input before evaluating it", async () => {
    const expression = `${"1+".repeat(MAX_EXPRESSION_CHARS)}1`;
    const error = errorOf(await calc(expression));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toContain("expression");
  });

  it("rejects an empty expression as invalid_tool_input", async () => {
    expect(errorOf(await calc("")).code).toBe("invalid_tool_input");
  });

  it("accepts an expression of exactly the maximum length", async () => {
    const expression = `${"0+".repeat(Math.floor((MAX_EXPRESSION_CHARS - 1) / 2))}1`.padStart(
      MAX_EXPRESSION_CHARS,
      " ",
    );
    expect(expression).toHaveLength(MAX_EXPRESSION_CHARS);
    expect(resultOf(await calc(expression)).result).toBe("1");
  });
});

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

describe("memory_search", () => {
  const memories = [
    { runId: "r1", ts: "2024-05-01T10:00:01.000Z", summary: "Budget for the Paris trip was 2340 euros." },
    {
      runId: "r2",
      ts: "2024-05-01T10:00:02.000Z",
      summary: "Discussed the garden layout and tomato planting.",
    },
    {
      runId: "r3",
      ts: "2024-05-01T10:00:03.000Z",
      summary: "Paris hotel booking confirmed for the trip in May.",
    },
    { runId: "r4", ts: "2024-05-01T10:00:04.000Z", summary: "Checked the weather report." },
  ];

  beforeAll(async () => {
    // Written out of order: the store sorts by ts.
    for (const m of [memories[2], memories[0], memories[3], memories[1]]) {
      if (m) await store.memories.put({ projectId: PROJECT, ...m });
    }
    await store.memories.put({
      projectId: OTHER_PROJECT,
      runId: "x1",
      ts: "2024-05-01T10:00:09.000Z",
      summary: "Paris trip budget of another project.",
    });
  });

  /** Search as a run of `projectId` (null: a run without a project). */
  const search = async (input: unknown, projectId: string | null = PROJECT) => {
    const outcome = await runTool(memorySearchTool, input, ctx(projectId === null ? {} : { projectId }));
    return resultOf(outcome) as { matches: { runId: string; ts: string; summary: string }[]; note?: string };
  };
  const runIds = (r: { matches: { runId: string }[] }) => r.matches.map((m) => m.runId);

  it("returns the best word-overlap matches first, only from the run's project", async () => {
    const result = await search({ query: "What was the budget of the Paris trip?" });
    expect(runIds(result)).toEqual(["r1", "r3"]);
    expect(result.matches[0]).toEqual({ runId: "r1", ts: memories[0]?.ts, summary: memories[0]?.summary });
  });

  it("is case-insensitive and breaks ties by recency (newest first)", async () => {
    expect(runIds(await search({ query: "PARIS" }))).toEqual(["r3", "r1"]);
  });

  it("respects limit", async () => {
    expect(runIds(await search({ query: "paris trip budget", limit: 1 }))).toEqual(["r1"]);
  });

  it("returns the newest memories when nothing matches", async () => {
    expect(runIds(await search({ query: "quantum chromodynamics" }))).toEqual(["r4", "r3", "r2"]);
    expect(runIds(await search({ query: "quantum chromodynamics", limit: 2 }))).toEqual(["r4", "r3"]);
  });

  it("returns the newest memories for an empty query (default limit 3, up to limit)", async () => {
    expect(runIds(await search({ query: "" }))).toEqual(["r4", "r3", "r2"]);
    expect(runIds(await search({ query: "", limit: 10 }))).toEqual(["r4", "r3", "r2", "r1"]);
  });

  it("returns no matches for a project without memories", async () => {
    expect((await search({ query: "paris" }, "proj-empty")).matches).toEqual([]);
  });

  it("says there is no memory for a run without projectId", async () => {
    const result = await search({ query: "paris" }, null);
    expect(result.matches).toEqual([]);
    expect(result.note).toMatch(/no projectId/);
  });

  it("validates limit", async () => {
    const outcome = await runTool(memorySearchTool, { query: "x", limit: 11 }, ctx({ projectId: PROJECT }));
    expect(errorOf(outcome).code).toBe("invalid_tool_input");
    expect(errorOf(outcome).message).toContain("limit");
  });

  it("scans a bounded number of memories", () => {
    expect(MEMORY_SEARCH_SCAN).toBeGreaterThan(0);
  });
});

describe("http_get", () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];
  const BIG = 5000;
  const MAX = 1000;
  let tool: Tool;
  let fastTimeoutTool: Tool;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "";
      hits.push(path);
      switch (path) {
        case "/pub/ok":
          res
            .writeHead(200, { "content-type": "text/plain; charset=utf-8" })
            .end("hello from the test server");
          return;
        case "/pub/missing":
          res.writeHead(404, { "content-type": "text/plain" }).end("not here");
          return;
        case "/pub/redirect":
          res.writeHead(302, { location: `${base}/pub/target` }).end();
          return;
        case "/pub/target":
        case "/private":
          res.writeHead(200, { "content-type": "text/plain" }).end("you should not see this");
          return;
        case "/pub/big":
          res.writeHead(200, { "content-type": "text/plain" }).end("a".repeat(BIG));
          return;
        case "/pub/exact":
          res.writeHead(200, { "content-type": "text/plain" }).end("b".repeat(MAX));
          return;
        case "/pub/hang":
          return; // never answers
        default:
          res.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const allowlist = [`${base}/pub/`];
    const t = httpGetTool({ allowlist, timeoutMs: 5000, maxBytes: MAX });
    const fast = httpGetTool({ allowlist, timeoutMs: 200, maxBytes: MAX });
    if (!t || !fast) throw new Error("http_get should be on with an allowlist");
    tool = t;
    fastTimeoutTool = fast;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const get = (url: string, t: Tool = tool) => runTool(t, { url }, ctx());

  it("fetches an allowlisted URL", async () => {
    const result = resultOf(await get(`${base}/pub/ok`));
    expect(result).toEqual({
      url: `${base}/pub/ok`,
      status: 200,
      contentType: "text/plain; charset=utf-8",
      body: "hello from the test server",
      truncated: false,
    });
  });

  it("returns a non-2xx status as a result", async () => {
    const result = resultOf(await get(`${base}/pub/missing`));
    expect(result.status).toBe(404);
    expect(result.body).toBe("not here");
  });

  it("refuses a URL that is not on the allowlist without requesting it", async () => {
    const before = hits.length;
    const error = errorOf(await get(`${base}/private`));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain("not on the allowlist");
    expect(hits.length).toBe(before);
  });

  it("refuses a dot-segment path that leaves the allowlisted prefix once normalised", async () => {
    // `${base}/pub/../private` starts with the prefix as a string but fetch requests /private.
    const before = hits.length;
    const error = errorOf(await get(`${base}/pub/../private`));
    expect(error.code).toBe("tool_error");
    expect(hits.slice(before)).not.toContain("/private");
  });

  it("compares origins, not string prefixes: an entry without a trailing slash admits no look-alike host", async () => {
    const loose = httpGetTool({ allowlist: ["https://api.example.com"], timeoutMs: 500, maxBytes: 100 });
    if (!loose) throw new Error("tool should be on");
    for (const url of [
      "https://api.example.com.evil.net/x",
      "https://api.example.com@evil.net/x",
      "http://api.example.com/x",
    ]) {
      const out = await runTool(loose, { url }, ctx());
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.error.message).toContain("not on the allowlist");
    }
  });

  it("does not follow a redirect: tool_error, and the target is never requested", async () => {
    const error = errorOf(await get(`${base}/pub/redirect`));
    expect(error.code).toBe("tool_error");
    expect(error.message).toContain("redirect");
    expect(hits).toContain("/pub/redirect");
    expect(hits).not.toContain("/pub/target");
  });

  it("cuts a body larger than maxBytes to maxBytes and marks it truncated", async () => {
    const result = resultOf(await get(`${base}/pub/big`));
    expect(result.truncated).toBe(true);
    expect(result.body).toBe("a".repeat(MAX));
  });

  it("keeps a body of exactly maxBytes whole", async () => {
    const result = resultOf(await get(`${base}/pub/exact`));
    expect(result.truncated).toBe(false);
    expect(result.body).toBe("b".repeat(MAX));
  });

  it("times out a server that never answers with tool_timeout", async () => {
    const error = errorOf(await get(`${base}/pub/hang`, fastTimeoutTool));
    expect(error).toEqual({ code: "tool_timeout", message: "http_get took longer than 200 ms." });
  });

  it("reports a connection failure as a tool_error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/`;
    const off = httpGetTool({ allowlist: [url], timeoutMs: 5000, maxBytes: MAX });
    if (!off) throw new Error("http_get should be on");
    const error = errorOf(await get(url, off));
    expect(error).toEqual({ code: "tool_error", message: `could not fetch ${url}` });
  });

  it("rejects a string that is not a URL as invalid_tool_input", async () => {
    const error = errorOf(await get("not a url"));
    expect(error.code).toBe("invalid_tool_input");
    expect(error.message).toContain("url");
  });

  it("is off (undefined) with an empty allowlist", () => {
    expect(httpGetTool({ allowlist: [], timeoutMs: 200, maxBytes: 10 })).toBeUndefined();
  });

  it("lists the allowlist in its description and uses the configured time limit", () => {
    expect(tool.name).toBe("http_get");
    expect(tool.description).toContain(`${base}/pub/`);
    expect(tool.timeoutMs).toBe(5000);
    expect(fastTimeoutTool.timeoutMs).toBe(200);
  });
});

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

describe("ToolRegistry and defineTool", () => {
  const echo = defineTool({
    name: "echo",
    description: "Echoes its text.",
    input: z.object({ text: z.string(), times: z.number().int().nullable().default(null) }),
    run: async ({ text }) => text,
  });

  it("registers, gets and lists tools in registration order", () => {
    const registry = new ToolRegistry().register(echo).register(calculatorTool);
    expect(registry.get("echo")).toBe(echo);
    expect(registry.get("nope")).toBeUndefined();
    expect(registry.list().map((t) => t.name)).toEqual(["echo", "calculator"]);
  });

  it("throws when a name is registered twice", () => {
    const registry = new ToolRegistry().register(echo);
    expect(() => registry.register(echo)).toThrow(/echo is already registered/);
    expect(() => registry.register({ ...calculatorTool, name: "echo" })).toThrow(/already registered/);
  });

  it("gives the OpenAI function-tool format with a JSON Schema object for parameters", () => {
    const [tool] = new ToolRegistry().register(echo).toOpenAiTools();
    expect(tool).toEqual({
      type: "function",
      function: {
        name: "echo",
        description: "Echoes its text.",
        parameters: {
          type: "object",
          properties: {
            text: { type: "string" },
            times: expect.objectContaining({ anyOf: expect.any(Array) }),
          },
          required: ["text", "times"],
          additionalProperties: false,
        },
      },
    });
  });

  it("describes every default tool with properties matching its zod fields and no $schema", () => {
    const registry = createDefaultTools({
      httpGet: { allowlist: ["https://example.com/"], timeoutMs: 1000, maxBytes: 1000 },
    });
    const openAi = registry.toOpenAiTools();
    expect(openAi.map((t) => t.function.name)).toEqual(registry.list().map((t) => t.name));
    for (const [i, t] of openAi.entries()) {
      const source = registry.list()[i];
      if (!source) throw new Error("missing tool");
      expect(t.type).toBe("function");
      expect(t.function.description).toBe(source.description);
      const params = t.function.parameters;
      expect(params).not.toHaveProperty("$schema");
      expect(params.type).toBe("object");
      expect(Object.keys(params.properties as object).sort()).toEqual(Object.keys(source.input.shape).sort());
      expect(params).toEqual(inputJsonSchema(source));
    }
    const calcParams = openAi.find((t) => t.function.name === "calculator")?.function.parameters;
    expect(calcParams?.properties).toEqual({
      expression: { type: "string", minLength: 1, maxLength: MAX_EXPRESSION_CHARS },
    });
  });

  it("createDefaultTools without an allowlist has exactly calculator, current_time, memory_search", () => {
    const names = createDefaultTools({ httpGet: NO_HTTP })
      .list()
      .map((t) => t.name);
    expect(names).toEqual(["calculator", "current_time", "memory_search"]);
  });

  it("createDefaultTools with an allowlist also has http_get", () => {
    const registry = createDefaultTools({
      httpGet: { allowlist: ["https://api.example.com/"], timeoutMs: 1234, maxBytes: 1000 },
    });
    expect(registry.list().map((t) => t.name)).toEqual([
      "calculator",
      "current_time",
      "memory_search",
      "http_get",
    ]);
    expect(registry.get("http_get")?.timeoutMs).toBe(1234);
  });

  it("createDefaultTools gives a fresh registry each time", () => {
    const a = createDefaultTools({ httpGet: NO_HTTP });
    expect(() => a.register(echo)).not.toThrow();
    expect(createDefaultTools({ httpGet: NO_HTTP }).get("echo")).toBeUndefined();
  });

  it.each(["", "Calc", "1calc", "_calc", "my-tool", "my tool", "tool.name", `a${"b".repeat(64)}`])(
    "defineTool rejects the bad name %j",
    (name) => {
      expect(() =>
        defineTool({ name, description: "x", input: z.object({}), run: async () => null }),
      ).toThrow(/invalid tool name/);
    },
  );

  it("defineTool accepts a valid name and defaults the time limit", () => {
    const name = `a${"b".repeat(63)}`;
    const tool = defineTool({ name, description: "x", input: z.object({}), run: async () => null });
    expect(tool.name).toBe(name);
    expect(tool.timeoutMs).toBe(DEFAULT_TOOL_TIMEOUT_MS);
    expect(
      defineTool({ name: "t_1", description: "x", input: z.object({}), timeoutMs: 7, run: async () => 1 })
        .timeoutMs,
    ).toBe(7);
  });
});
