import { afterAll, beforeAll } from "vitest";
import type { ToolContext, ToolOutcome } from "../../packages/agent/tools/index.ts";
import type { Store } from "../../packages/store/index.ts";
import { startTestDynamo, type TestDynamo } from "./dynamo.ts";

/** A tool context over `store`; `overrides` replace fields (signal, now, projectId). */
export function toolContext(store: Store, overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    runId: "run-tools",
    store,
    signal: new AbortController().signal,
    now: () => Date.now(),
    ...overrides,
  };
}

/**
 * A test store for the file's tests (dynalite, table `tableName`, closed after them), and
 * `ctx(overrides)`: a tool context over it.
 */
export function useToolContext(tableName: string): (overrides?: Partial<ToolContext>) => ToolContext {
  let dynamo: TestDynamo | undefined;
  beforeAll(async () => {
    dynamo = await startTestDynamo(tableName);
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  return (overrides = {}) => {
    if (!dynamo) throw new Error("the test store is not started yet");
    return toolContext(dynamo.store, overrides);
  };
}

/** Narrow an outcome to a success and return its result. */
export function resultOf(outcome: ToolOutcome): Record<string, unknown> {
  if (!outcome.ok) throw new Error(`expected ok, got ${JSON.stringify(outcome.error)}`);
  return outcome.result as Record<string, unknown>;
}

/** Narrow an outcome to a failure and return its error. */
export function errorOf(outcome: ToolOutcome): { code: string; message: string } {
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.result)}`);
  return outcome.error;
}
