import { afterAll, describe, expect, it } from "vitest";
import type { LocalTaskCall } from "../../local/stack/local-workflow.ts";
import { createClient, type RunEvent } from "../../packages/client/index.ts";
import { defineAgent } from "../../packages/sdk/index.ts";
import { collect, expectWholeLog } from "../support/client-helpers.ts";
import { startTestStack } from "../support/stack.ts";

/**
 * A stage output larger than Step Functions' 256 KiB state limit (262,144 bytes, UTF-8; Step
 * Functions quotas) on the local stack, whose runner does not enforce that limit: the first
 * stage returns 300 KiB of text, the second and third read it and report its length. With the
 * default offload every Task's input and output stays under the limit; with the inline limit
 * raised beyond the output, the same measurement crosses it (so this test can fail).
 */

const STATE_LIMIT_BYTES = 262_144;
const TEXT_BYTES = 300 * 1024;

/** The three-stage agent; `inlineOutputBytes` as given (undefined: the default 32 KiB). */
function bigAgent(inlineOutputBytes?: number) {
  return defineAgent({
    name: "bulky",
    ...(inlineOutputBytes ? { inlineOutputBytes } : {}),
    stages: [
      { name: "produce", run: async () => ({ text: "a".repeat(TEXT_BYTES) }) },
      {
        name: "measure",
        run: async (ctx) => ({ length: (ctx.outputs.produce as { text: string }).text.length }),
      },
      {
        name: "report",
        run: async (ctx) => {
          const { text } = ctx.outputs.produce as { text: string };
          const { length } = ctx.outputs.measure as { length: number };
          return { answer: `produce wrote ${text.length} characters; measure saw ${length}.` };
        },
      },
    ],
  });
}

type Stack = Awaited<ReturnType<typeof startTestStack>>;
const stacks: Stack[] = [];

afterAll(async () => {
  for (const stack of stacks) await stack.stop();
});

/** Run the agent on a fresh stack, recording every Task call; the run's events and the largest payload. */
async function measuredRun(
  inlineOutputBytes?: number,
): Promise<{ events: RunEvent[]; maxBytes: number; calls: number }> {
  const calls: LocalTaskCall[] = [];
  const stack = await startTestStack(
    {},
    { agent: bigAgent(inlineOutputBytes), onTask: (call) => calls.push(call) },
  );
  stacks.push(stack);
  const client = createClient({ baseUrl: stack.url });
  const { runId } = await client.startRun({ question: "How long is it?" });
  const events = await collect(client.subscribe(runId));
  expectWholeLog(events, runId);
  await stack.workflow.idle();
  const sizes = calls.flatMap((call) => [
    Buffer.byteLength(JSON.stringify(call.input), "utf8"),
    ...(call.output === undefined ? [] : [Buffer.byteLength(JSON.stringify(call.output), "utf8")]),
  ]);
  return { events, maxBytes: Math.max(...sizes), calls: calls.length };
}

describe("stage outputs larger than the execution's state", () => {
  it("are stored and referenced: the run completes and every Task payload stays under 256 KiB", async () => {
    const { events, maxBytes, calls } = await measuredRun();
    const last = events.at(-1);
    expect(last?.type).toBe("run.completed");
    if (last?.type === "run.completed") {
      expect(last.data.answer).toBe(`produce wrote ${TEXT_BYTES} characters; measure saw ${TEXT_BYTES}.`);
    }
    expect(calls).toBe(3);
    expect(maxBytes).toBeLessThan(STATE_LIMIT_BYTES);
    expect(maxBytes).toBeLessThan(4096); // a reference, not the text
  }, 60_000);

  it("without the offload (inline limit above the output) the same measurement crosses 256 KiB", async () => {
    const { events, maxBytes } = await measuredRun(1024 * 1024);
    expect(events.at(-1)?.type).toBe("run.completed");
    expect(maxBytes).toBeGreaterThan(STATE_LIMIT_BYTES);
  }, 60_000);
});
