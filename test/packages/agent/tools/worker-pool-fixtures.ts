import { ToolError } from "../../../../packages/agent/tools/tool-error.ts";

/**
 * Worker-tool implementations for worker-pool.test.ts: each misbehaves in one way a
 * CPU-bound tool could. Loaded by the tool worker (Node's type stripping under vitest), so
 * only erasable TypeScript here.
 */

/** Returns its input. */
export function echo(input: unknown): unknown {
  return { echoed: input };
}

/** Resolves after `input.ms` milliseconds (a call that keeps its worker busy without burning CPU). */
export async function later(input: { ms: number }): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, input.ms));
  return "done";
}

/** Never returns and never yields: only terminating the worker stops it. */
export function spin(): never {
  for (;;) {
    // busy
  }
}

/** Keeps allocating until the heap limit kills the worker. */
export function hog(): never {
  const keep: number[][] = [];
  for (;;) keep.push(new Array(100_000).fill(Math.random()));
}

/** Recurses without end: a stack overflow. */
export function recurse(): number {
  const down = (n: number): number => down(n + 1) + 1;
  return down(0);
}

/** Fails politely: the message is for the model. */
export function refuse(): never {
  throw new ToolError("the thing is not available");
}

/** Fails with internals that must not reach the model. */
export function leak(): never {
  throw new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2");
}

/** A result far over the 4,000-character limit. */
export function big(): { text: string } {
  return { text: "y".repeat(100_000) };
}

/** How many environment variables the worker sees. */
export function envSize(): number {
  return Object.keys(process.env).length;
}

/** Ends its worker thread. */
export function exitNow(): never {
  process.exit(3);
}

/** Not a function. */
export const notAFunction = 42;
