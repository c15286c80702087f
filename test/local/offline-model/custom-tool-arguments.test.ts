import { describe, expect, it } from "vitest";
import { z } from "zod";
import { argumentSeed, customToolArguments } from "../../../local/offline-model/custom-tool-arguments.ts";
import { serveOfflineModel } from "../../support/offline-model.ts";

type Schema = Record<string, unknown>;
const validator = (schema: Schema) => z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
/** The arguments, checked against the schema they were built from. */
function validArguments(schema: Schema, request: string): unknown {
  const args = customToolArguments(schema, request);
  expect(validator(schema).safeParse(args).success).toBe(true);
  return args;
}

const SALES = {
  type: "object",
  properties: {
    region: { type: "string", enum: ["north", "south"] },
    quarter: { type: "string" },
    limit: { type: "integer", minimum: 1, maximum: 10 },
  },
  required: ["region", "quarter", "limit"],
  additionalProperties: false,
};

describe("customToolArguments: seeded from the request", () => {
  it("takes the enum member the request mentions, else the schema's defaults", () => {
    expect(validArguments(SALES, "What was the revenue in the north region for Q3?")).toEqual({
      region: "north",
      quarter: "quarter: What was the revenue in the north region for Q3?",
      limit: 1,
    });
    expect(validArguments(SALES, "South, top 3")).toMatchObject({ region: "south", limit: 3 });
    expect(validArguments(SALES, "Nothing in particular")).toMatchObject({ region: "north", limit: 1 });
  });

  it("picks the member mentioned first (the longer on a tie), in the enum's own spelling", () => {
    const schema = {
      type: "object",
      properties: { area: { type: "string", enum: ["North", "North America", "Europe"] } },
      required: ["area"],
    };
    expect(validArguments(schema, "europe then north")).toEqual({ area: "Europe" });
    expect(validArguments(schema, "sales in north america")).toEqual({ area: "North America" });
    expect(validArguments(schema, "northern lights")).toEqual({ area: "North" });
  });

  it("reads enums behind anyOf (zod's nullish) and $ref", () => {
    const schema = {
      type: "object",
      properties: {
        quarter: { anyOf: [{ type: "string", enum: ["Q1", "Q2"] }, { type: "null" }] },
        groupBy: { $ref: "#/$defs/group" },
      },
      required: ["quarter", "groupBy"],
      $defs: { group: { type: "string", enum: ["region", "product", "month"] } },
    };
    expect(validArguments(schema, "Revenue per product in q2")).toEqual({
      quarter: "Q2",
      groupBy: "product",
    });
    expect(validArguments(schema, "Revenue")).toEqual({ quarter: null, groupBy: "region" });
  });

  it("gives numbers within bounds, each once, skipping percentages and fractions for integers", () => {
    const schema = {
      type: "object",
      properties: {
        limit: { type: "integer", minimum: 1, maximum: 10 },
        offset: { type: "integer", minimum: 0 },
        ratio: { type: "number", exclusiveMaximum: 1 },
      },
      required: ["limit", "offset", "ratio"],
    };
    expect(validArguments(schema, "show 50 rows, then 4, at 0.25, about 7%")).toEqual({
      limit: 4,
      offset: 50,
      ratio: 0.25,
    });
    expect(validArguments(schema, "2.5 of 2,340")).toEqual({ limit: 1, offset: 2340, ratio: 0 });
  });

  it("gives a query-like string property the request's key words", () => {
    const schema = {
      type: "object",
      properties: {
        search_query: { type: "string" },
        filter: { type: ["string", "null"] },
        q: { type: "string", minLength: 1 },
        title: { type: "string" },
      },
      required: ["search_query", "filter", "q", "title"],
    };
    const args = validArguments(schema, "Find open incidents about the payment service") as Record<
      string,
      unknown
    >;
    expect(args.search_query).toBe("incidents payment service find open");
    expect(args.filter).toBe(args.search_query);
    expect(args.q).toBe(args.search_query);
    expect(args.title).toBe("title: Find open incidents about the payment service");
    expect(argumentSeed(schema, "the of and")).toEqual({});
  });

  it("gives a URL-format string the request's first http(s) URL, when it fits", () => {
    const schema = {
      type: "object",
      properties: { url: { type: "string", format: "uri" }, note: { type: "string" } },
      required: ["url", "note"],
    };
    const request = "What does https://status.example.com/v1?x=1, and http://other.example say?";
    expect(validArguments(schema, request)).toMatchObject({ url: "https://status.example.com/v1?x=1" });
    expect(validArguments(schema, "no link here")).toMatchObject({ url: "https://example.com/" });
    const short = { type: "object", properties: { url: { type: "string", format: "uri", maxLength: 10 } } };
    expect(customToolArguments(short, request)).toEqual({ url: "https://example.com/" });
  });

  it("keeps a seed only where it fits the schema", () => {
    const schema = {
      type: "object",
      properties: { query: { type: "string", maxLength: 5 }, code: { type: "string", pattern: "^[A-Z]+$" } },
      required: ["query", "code"],
    };
    expect(customToolArguments(schema, "lengthy words here")).toEqual({
      query: "query",
      code: "code: lengthy words here",
    });
    expect(customToolArguments(undefined, "anything")).toEqual({});
  });
});

describe("customToolArguments: bounded for hostile schemas", () => {
  it("reads only the first enum members, and stays valid", () => {
    const members = Array.from({ length: 50_000 }, (_, i) => `m${i}`);
    const schema = {
      type: "object",
      properties: { pick: { type: "string", enum: members } },
      required: ["pick"],
    };
    expect(validArguments(schema, "pick m10")).toEqual({ pick: "m10" });
    expect(validArguments(schema, "pick m49999")).toEqual({ pick: "m0" });
  });

  it("seeds only the first properties of a wide schema", () => {
    const properties = Object.fromEntries(
      Array.from({ length: 5000 }, (_, i) => [`p${i}`, { type: "integer", maximum: 9 }]),
    );
    const seed = argumentSeed({ type: "object", properties }, "1 2 3 4 5 6 7 8 9");
    expect(Object.keys(seed)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]);
    const args = customToolArguments({ type: "object", properties }, "3") as Record<string, unknown>;
    expect(Object.keys(args)).toHaveLength(5000);
    expect(args.p0).toBe(3);
  });
});

describe("over HTTP: a custom tool with a hostile schema still gets a call", () => {
  const model = serveOfflineModel();

  /** A node nested `depth` objects deep. */
  const deep = (depth: number): Schema =>
    depth === 0
      ? { type: "string" }
      : { type: "object", properties: { inner: deep(depth - 1) }, required: ["inner"] };
  /** Ten properties, each referring back to its own node: 10^12 nodes at depth 12. */
  const fanOut = {
    type: "object",
    properties: { region: { type: "string", enum: ["north", "south"] }, tree: { $ref: "#/$defs/node" } },
    required: ["region", "tree"],
    $defs: {
      node: {
        type: "object",
        properties: Object.fromEntries(
          Array.from({ length: 10 }, (_, i) => [`c${i}`, { $ref: "#/$defs/node" }]),
        ),
        required: Array.from({ length: 10 }, (_, i) => `c${i}`),
      },
    },
  };
  const hostile: [string, Schema][] = [
    ["deep nesting", deep(500)],
    ["fan-out $refs", fanOut],
    [
      "a huge enum",
      { type: "object", properties: { region: { enum: Array.from({ length: 20_000 }, (_, i) => `r${i}`) } } },
    ],
    [
      "huge minItems and minLength",
      {
        type: "object",
        properties: { xs: { type: "array", minItems: 1e9, items: { type: "string", minLength: 1e9 } } },
      },
    ],
  ];

  it.each(hostile)("%s", async (_, parameters) => {
    const out = await model.openai.chat.completions.create({
      model: "offline",
      messages: [{ role: "user", content: "Please call hostile_report for the north region" }],
      tools: [{ type: "function", function: { name: "hostile_report", parameters } }],
    });
    const call = out.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && call.function.name).toBe("hostile_report");
    const args: unknown = JSON.parse(call?.type === "function" ? call.function.arguments : "");
    expect(typeof args).toBe("object");
    expect(call?.type === "function" && call.function.arguments.length).toBeLessThan(2_000_000);
  });
});
