import { describe, expect, it } from "vitest";
import { boundStageData, STAGE_DATA_MAX_BYTES } from "../../../packages/client/stage-data.ts";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

describe("boundStageData (what a view keeps of a stage's data)", () => {
  it("returns data that fits as the same object, with no marker", () => {
    const data = { problems: 3, byKind: { Pod: 3 } };
    const bounded = boundStageData(data);
    expect(bounded.data).toBe(data);
    expect(bounded.truncated).toBeUndefined();
  });

  it("counts UTF-8 bytes of the JSON, not characters, and the limit itself fits", () => {
    // {"a":"…"} is 8 bytes of punctuation and key around the value.
    const exact = { a: "x".repeat(STAGE_DATA_MAX_BYTES - 8) };
    expect(bytes(exact)).toBe(STAGE_DATA_MAX_BYTES);
    expect(boundStageData(exact).truncated).toBeUndefined();
    // Same number of characters, but é is 2 bytes: over the limit.
    const wide = { a: "é".repeat(STAGE_DATA_MAX_BYTES - 8) };
    expect(boundStageData(wide)).toEqual({ data: {}, truncated: { bytes: bytes(wide), keys: 1 } });
  });

  it("keeps whole fields in order, skipping those that no longer fit, within the limit", () => {
    const data = { a: "1".repeat(40), b: "2".repeat(40), c: "3".repeat(5), d: 4 };
    const bounded = boundStageData(data, 60);
    // {"a":"…40…"} is 48 bytes; b would make it 91; c (10 more) still fits; d (6 more) does not.
    expect(bounded.data).toEqual({ a: data.a, c: data.c });
    expect(bytes(bounded.data)).toBeLessThanOrEqual(60);
    expect(bounded.truncated).toEqual({ bytes: bytes(data), keys: 4 });
  });
});
