import { describe, expect, it } from "vitest";
import { STAGE_DATA_LINE_CHARS, stageDataLine } from "../../../packages/client/stage-data-line.ts";

describe("stageDataLine (a stage's data on one line, for the CLI and the page's summary)", () => {
  it("writes key: value joined by ·, strings as themselves, other values as compact JSON", () => {
    expect(
      stageDataLine({
        data: { problems: 3, byKind: { Pod: 2, Deployment: 1 }, leader: "EMEA", ok: true, none: null },
      }),
    ).toBe('problems: 3 · byKind: {"Pod":2,"Deployment":1} · leader: EMEA · ok: true · none: null');
    expect(stageDataLine({ data: { list: [1, "two"] } })).toBe('list: [1,"two"]');
  });

  it("is empty without data", () => {
    expect(stageDataLine({})).toBe("");
  });

  it("turns control characters (escape sequences, newlines, C1) into spaces", () => {
    const line = stageDataLine({ data: { "k\x1b[2J": "a\nb\x1b[31mred\u009b1m", nested: { s: "\x1b" } } });
    expect(line).toBe('k [2J: a b [31mred 1m · nested: {"s":"\\u001b"}');
    expect(line).not.toMatch(/\p{Cc}/u);
  });

  it("clips to maxChars with …, default 200, never splitting a surrogate pair", () => {
    const long = stageDataLine({ data: { text: "x".repeat(500) } });
    expect(long).toHaveLength(STAGE_DATA_LINE_CHARS);
    expect(long.endsWith("x…")).toBe(true);
    expect(stageDataLine({ data: { a: 1 } }, 3)).toBe("a:…");
    const emoji = stageDataLine({ data: { e: "😀😀😀" } }, 5); // "e: " + 😀 (2 units) would cut at 4
    expect(emoji).toBe("e: …");
  });

  it("ends with the clipping marker when the view clipped the data, which clipping the line keeps", () => {
    const stage = { data: { problems: 3 }, dataTruncated: { bytes: 20_000, keys: 4 } };
    expect(stageDataLine(stage)).toBe("problems: 3 [clipped: 1 of 4 fields]");
    const narrow = stageDataLine({ ...stage, data: { text: "y".repeat(300) } }, 40);
    expect(narrow).toHaveLength(40);
    expect(narrow.endsWith("… [clipped: 1 of 4 fields]")).toBe(true);
    expect(stageDataLine({ data: {}, dataTruncated: { bytes: 9000, keys: 1 } })).toBe(
      "[clipped: 0 of 1 fields]",
    );
  });
});
