import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { readSse } from "../support/sse.ts";
import { startWithAgent } from "../support/start-line.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The first TypeScript block of docs/agents.md after `heading` (the document's first without one), as it is. */
function docsExample(heading?: string): string {
  const doc = readFileSync(join(ROOT, "docs/agents.md"), "utf8");
  const from = heading === undefined ? 0 : doc.indexOf(`\n${heading}\n`);
  if (from < 0) throw new Error(`docs/agents.md has no heading ${heading}`);
  const match = /```ts\n([\s\S]*?)```/.exec(doc.slice(from));
  if (!match?.[1]) throw new Error(`docs/agents.md has no \`\`\`ts block after ${heading ?? "its start"}`);
  return match[1];
}

async function startRun(url: string, question: string): Promise<string> {
  const res = await fetch(`${url}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

const events = (frames: Array<{ event?: string; data: string }>): RunEvent[] =>
  frames
    .filter((f) => f.event !== "heartbeat" && f.event !== "reconnect")
    .map((f) => JSON.parse(f.data) as RunEvent);

describe("docs/agents.md's example, run with STAGECAST_AGENT", () => {
  // Inside the repository, so `import … from "stagecast"` resolves to the package itself.
  const dir = join(ROOT, "test-results", `agents-doc-${process.pid}`);
  let stack: { url: string; child: ChildProcess };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "agent.ts"), docsExample());
    stack = await startWithAgent(ROOT, join(dir, "agent.ts"));
  }, 60_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("streams the agent's own stages, its tool's result reaches the answer, and the run ends once", async () => {
    const question = "How many words does this question have?";
    const runId = await startRun(stack.url, question);
    const got = events((await readSse(`${stack.url}/runs/${runId}/stream`, { timeoutMs: 30_000 })).frames);
    expect(got[0]?.type).toBe("run.queued");
    expect(got[0]?.data).toMatchObject({
      agent: "minimal",
      stages: [
        { name: "measure", weight: 1 },
        { name: "answer", weight: 3 },
      ],
    });
    const tool = got.find((e) => e.type === "tool.completed");
    expect(tool?.data).toMatchObject({ name: "word_count", ok: true, result: { words: 7 } });
    expect(got.filter((e) => e.type === "llm.delta").length).toBeGreaterThan(0);
    const last = got.at(-1);
    expect(last?.type).toBe("run.completed");
    expect(String((last?.data as { answer?: string } | undefined)?.answer)).toContain(
      "Your question had 7 words.",
    );
    expect(
      got.filter((e) => ["run.completed", "run.failed", "run.cancelled", "run.timed_out"].includes(e.type)),
    ).toHaveLength(1);
    expect(got.map((e) => e.seq)).toEqual(got.map((_, i) => i + 1));
  }, 60_000);

  it("resumes after a dropped connection with neither a gap nor a repeat (Last-Event-ID)", async () => {
    const runId = await startRun(stack.url, "Resume me, please.");
    const first = events(
      (await readSse(`${stack.url}/runs/${runId}/stream`, { stopAfter: (f) => f.length >= 6 })).frames,
    );
    const lastSeq = first.at(-1)?.seq ?? 0;
    expect(lastSeq).toBeGreaterThan(0);
    const rest = events(
      (
        await readSse(`${stack.url}/runs/${runId}/stream`, {
          headers: { "last-event-id": String(lastSeq) },
          timeoutMs: 30_000,
        })
      ).frames,
    );
    expect([...first, ...rest].map((e) => e.seq)).toEqual([...first, ...rest].map((_, i) => i + 1));
    expect(rest.at(-1)?.type).toBe("run.completed");
  }, 60_000);

  it("is cancelled like the built-in agent: one run.cancelled, last", async () => {
    const runId = await startRun(stack.url, "Cancel me while I write.");
    const reading = readSse(`${stack.url}/runs/${runId}/stream`, { timeoutMs: 30_000 });
    // Cancel once the answer stage is writing.
    for (let i = 0; i < 100; i++) {
      const page = (await (await fetch(`${stack.url}/runs/${runId}/events`)).json()) as {
        events: RunEvent[];
      };
      if (page.events.some((e) => e.type === "llm.delta")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await fetch(`${stack.url}/runs/${runId}/cancel`, { method: "POST" })).status).toBeLessThan(300);
    const got = events((await reading).frames);
    expect(got.at(-1)?.type).toBe("run.cancelled");
    expect(
      got.filter((e) => e.type.startsWith("run.") && e.type !== "run.queued" && e.type !== "run.started"),
    ).toHaveLength(1);
  }, 60_000);
});

describe("docs/agents.md's changed built-in agent (stagecast/default-agent), run with STAGECAST_AGENT", () => {
  const dir = join(ROOT, "test-results", `agents-doc-default-${process.pid}`);
  let stack: { url: string; child: ChildProcess };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "agent.ts"), docsExample("## The built-in agent, changed"));
    stack = await startWithAgent(ROOT, join(dir, "agent.ts"));
  }, 60_000);
  afterAll(() => {
    if (stack?.child.pid) process.kill(stack.child.pid, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the six built-in stages under its own name, with tool calls, to one run.completed", async () => {
    const runId = await startRun(stack.url, "What is 12 * 7?");
    const got = events((await readSse(`${stack.url}/runs/${runId}/stream`, { timeoutMs: 30_000 })).frames);
    expect(got[0]?.data).toMatchObject({ agent: "support-desk" });
    const queued = got[0]?.data as { stages?: Array<{ name: string }> } | undefined;
    const stages = queued?.stages?.map((s) => s.name);
    expect(stages).toEqual(["context", "analyzing", "planning", "validation", "execution", "memory"]);
    const calculated = got.find((e) => e.type === "tool.completed" && e.data.name === "calculator");
    expect(calculated?.data).toMatchObject({ ok: true, result: { result: "84" } });
    const last = got.at(-1);
    expect(last?.type).toBe("run.completed");
    expect(String((last?.data as { answer?: string } | undefined)?.answer)).toContain("84");
  }, 60_000);
});
