import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTool, type ToolContext } from "../../../../packages/agent/tools/index.ts";
import { MEMORY_SEARCH_SCAN, memorySearchTool } from "../../../../packages/agent/tools/memory-search.ts";
import type { Store } from "../../../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "../../../support/dynamo.ts";
import { errorOf, resultOf, toolContext } from "../../../support/tools.ts";

const TABLE = "stagecast-tools-test";
const PROJECT = "proj-tools";
const OTHER_PROJECT = "proj-other";

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
const ctx = (overrides: Partial<ToolContext> = {}) => toolContext(store, overrides);

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
