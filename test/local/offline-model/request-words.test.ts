import { describe, expect, it } from "vitest";
import { contentWords, keywords, spacedWords } from "../../../local/offline-model/request-words.ts";

describe("request-words", () => {
  it("contentWords keeps the text's order, without stop words or repeats, capped", () => {
    expect(contentWords("Show the revenue of the north region, then the revenue again", 10)).toEqual([
      "show",
      "revenue",
      "north",
      "region",
      "then",
      "again",
    ]);
    expect(contentWords("alpha beta gamma delta", 2)).toEqual(["alpha", "beta"]);
  });

  it("keywords still sorts longest first", () => {
    expect(keywords("Show the revenue of the north region", 3)).toEqual(["revenue", "region", "north"]);
  });

  it("spacedWords lower-cases, splits camelCase and punctuation, and pads with spaces", () => {
    expect(spacedWords("Query_Sales!")).toBe(" query sales ");
    expect(spacedWords("querySales, v2Api")).toBe(" query sales v2 api ");
    expect(spacedWords("  ")).toBe("  ");
  });
});
