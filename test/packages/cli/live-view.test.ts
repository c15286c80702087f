import { PassThrough } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { plainView, ttyView } from "../../../packages/cli/live-view.ts";
import { applyEvent, initialRunProgress, type RunEvent } from "../../../packages/client/index.ts";
import type { EventInput } from "../../../packages/events/index.ts";

const RUN = "01JZ0000000000000000000000";
const T0 = Date.parse("2026-11-21T10:00:00.000Z");
const STAGES = ["collect", "analyze", "explain"];

/** A stream that keeps what is written to it, as a terminal of `columns` (or a pipe). */
function sink(columns?: number) {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  if (columns !== undefined) Object.assign(stream, { columns, rows: 40, isTTY: true });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const at = (inputs: EventInput[]): RunEvent[] =>
  inputs.map(
    (input, i) =>
      ({ ...input, runId: RUN, seq: i + 1, ts: new Date(T0 + i * 1000).toISOString() }) as RunEvent,
  );
const queued: EventInput = {
  type: "run.queued",
  progress: 0,
  message: "Run queued.",
  data: { question: "Why?", agent: "k8s", stages: STAGES.map((name) => ({ name, weight: 1 })) },
};
const started = (stage: string): EventInput => ({
  type: "stage.started",
  stage,
  attempt: 0,
  progress: 10,
  message: `${stage} started`,
  data: { index: STAGES.indexOf(stage), total: STAGES.length },
});
const emitted = (stage: string, data: Record<string, unknown>): EventInput =>
  ({ type: "stage.progress", stage, attempt: 0, progress: 20, message: "data", data }) as EventInput;
const completed = (stage: string): EventInput => ({
  type: "stage.completed",
  stage,
  attempt: 0,
  progress: 50,
  message: `${stage} done`,
  data: { durationMs: 1000 },
});
const DATA = { problems: 3, byKind: { Pod: 2, Deployment: 1 } };

describe("plainView: a stage's data under its line when the stage ends", () => {
  it("prints the latest data once, indented, right after the stage's done line; not for a stage without data", () => {
    const out = sink();
    const view = plainView(out.stream);
    const run = initialRunProgress(RUN);
    for (const event of at([
      queued,
      started("collect"),
      completed("collect"),
      started("analyze"),
      emitted("analyze", { problems: 9 }),
      emitted("analyze", DATA),
      completed("analyze"),
      started("explain"),
    ])) {
      applyEvent(run, event);
      view.update(run, {}, "open");
    }
    const lines = out.text().split("\n");
    const done = lines.findIndex((l) => /^\[\d+%\] analyze: done/.test(l));
    expect(lines[done + 1]).toBe('  problems: 3 · byKind: {"Pod":2,"Deployment":1}');
    expect(out.text().match(/problems:/g)).toHaveLength(1); // not while running, not twice
    const collectDone = lines.findIndex((l) => /^\[\d+%\] collect: done/.test(l));
    expect(lines[collectDone + 1]).toMatch(/^\[\d+%\] analyze: running$/);
  });

  it("clips the data line to its width (the indent aside)", () => {
    const out = sink();
    const view = plainView(out.stream, 30);
    const run = initialRunProgress(RUN);
    for (const event of at([
      queued,
      started("collect"),
      emitted("collect", { text: "z".repeat(100) }),
      completed("collect"),
    ]))
      applyEvent(run, event);
    view.update(run, {}, "open");
    const line =
      out
        .text()
        .split("\n")
        .find((l) => l.startsWith("  text:")) ?? "";
    expect(line).toBe(`  text: ${"z".repeat(23)}…`);
    expect(line.trimStart()).toHaveLength(30);
  });
});

describe("ttyView: the data under the stage in the final frame, within the terminal's width", () => {
  it("shows each stage's data under its line, clipped to the columns", () => {
    const out = sink(40);
    const view = ttyView(out.stream);
    const run = initialRunProgress(RUN);
    for (const event of at([
      queued,
      started("collect"),
      completed("collect"),
      started("analyze"),
      emitted("analyze", DATA),
    ]))
      applyEvent(run, event);
    view.update(run, {}, "open");
    view.finish(run);
    const lines = stripVTControlCharacters(out.text()).split("\n");
    const analyze = lines.findIndex((l) => /^ {2}\S* ?analyze\b/.test(l));
    expect(analyze).toBeGreaterThan(0);
    expect(lines[analyze + 1]).toBe(`    ${'problems: 3 · byKind: {"Pod":2,"Deployment":1}'.slice(0, 34)}…`);
    expect(lines[analyze + 1]?.length).toBeLessThan(40);
    expect(lines.filter((l) => l.includes("problems:"))).toHaveLength(1);
  });
});
