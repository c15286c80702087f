import { describe, expect, it } from "vitest";
import { overallProgress, stageBands, stagePosition } from "../../../packages/agent/progress.ts";
import { DEFAULT_AGENT as defaultAgent } from "../../support/agents.ts";

/** The bands as plain `[name, from, to]` rows, rounded like overallProgress (0.1). */
const rows = (stages: Parameters<typeof stageBands>[0]) =>
  [...stageBands(stages)].map(([name, [from, to]]) => [
    name,
    Math.round(from * 10) / 10,
    Math.round(to * 10) / 10,
  ]);

describe("stageBands (each stage's share of the progress bar, from the weights)", () => {
  it("gives the built-in agent exactly the bands it always had", () => {
    expect([...stageBands(defaultAgent.stages)]).toEqual([
      ["context", [0, 8]],
      ["analyzing", [8, 20]],
      ["planning", [20, 35]],
      ["validation", [35, 42]],
      ["execution", [42, 92]],
      ["memory", [92, 100]],
    ]);
  });

  it("gives each stage weight / Σ weights of 0–100, in order, tiling it with no gap", () => {
    const stages = [
      { name: "gather", weight: 1 },
      { name: "draft", weight: 2 },
      { name: "review", weight: 1 },
    ];
    expect([...stageBands(stages)]).toEqual([
      ["gather", [0, 25]],
      ["draft", [25, 75]],
      ["review", [75, 100]],
    ]);
    // Weights need not sum to anything in particular, nor be integers.
    const thirds = [
      { name: "a", weight: 0.3 },
      { name: "b", weight: 0.3 },
      { name: "c", weight: 0.3 },
    ];
    expect(rows(thirds)).toEqual([
      ["a", 0, 33.3],
      ["b", 33.3, 66.7],
      ["c", 66.7, 100],
    ]);
    const bands = [...stageBands(thirds).values()];
    bands.forEach(([from], i) => {
      expect(from).toBe(i === 0 ? 0 : bands[i - 1]?.[1]);
    });
    expect(bands.at(-1)?.[1]).toBe(100);
    // One stage owns the whole bar.
    expect([...stageBands([{ name: "only", weight: 7 }])]).toEqual([["only", [0, 100]]]);
  });
});

describe("stagePosition and overallProgress", () => {
  const stages = [
    { name: "gather", weight: 1 },
    { name: "draft", weight: 2 },
    { name: "review", weight: 1 },
  ];

  it("places a stage: index, total and band (stage.started's data and its progress)", () => {
    expect(stagePosition(stages, "draft")).toEqual({ index: 1, total: 3, band: [25, 75] });
    expect(stagePosition(defaultAgent.stages, "execution")).toEqual({ index: 4, total: 6, band: [42, 92] });
    expect(() => stagePosition(stages, "planning")).toThrow(RangeError);
  });

  it("maps a fraction of a stage into its band, clamped to it and rounded to 0.1", () => {
    const { band } = stagePosition(stages, "draft");
    expect(overallProgress(band, 0)).toBe(25);
    expect(overallProgress(band, 0.5)).toBe(50);
    expect(overallProgress(band, 1)).toBe(75);
    expect(overallProgress(band, -1)).toBe(25);
    expect(overallProgress(band, 2)).toBe(75);
    expect(overallProgress([0, 100 / 3], 1)).toBe(33.3);
    // Never decreasing through the run: every stage's end is the next one's start.
    const walk = stages.flatMap((s) =>
      [0, 0.25, 0.5, 0.75, 1].map((f) => overallProgress(stagePosition(stages, s.name).band, f)),
    );
    expect(walk).toEqual([...walk].sort((a, b) => a - b));
    expect(walk[0]).toBe(0);
    expect(walk.at(-1)).toBe(100);
  });
});
