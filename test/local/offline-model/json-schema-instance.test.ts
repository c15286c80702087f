import { describe, expect, it } from "vitest";
import { z } from "zod";
import { schemaInstance } from "../../../local/offline-model/json-schema-instance.ts";

type Schema = Record<string, unknown>;
const valid = (schema: Schema, value: unknown) =>
  z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(value).success;
const size = (value: unknown) => JSON.stringify(value).length;

describe("schemaInstance: bounded for any schema", () => {
  it("still builds every property of an ordinary schema", () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string", minLength: 3 },
        tags: { type: "array", items: { type: "string" }, minItems: 2 },
        level: { anyOf: [{ type: "integer", minimum: 2 }, { type: "null" }] },
        nested: { allOf: [{ properties: { a: { type: "boolean" } } }, { properties: { b: { const: 1 } } }] },
      },
      required: ["name", "tags", "level", "nested"],
    };
    const value = schemaInstance(schema, { request: "Hello" });
    expect(value).toEqual({
      name: "name: Hello",
      tags: ["tags: Hello", "tags: Hello"],
      level: null,
      nested: { a: false, b: 1 },
    });
    expect(valid(schema, value)).toBe(true);
  });

  it("cuts off a $ref fan-out (10 children per node: 10^12 nodes at depth 12) at its work budget", () => {
    const node = {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`c${i}`, { $ref: "#/$defs/node" }]),
      ),
    };
    const value = schemaInstance({ $defs: { node }, $ref: "#/$defs/node" }, { request: "x" });
    expect(size(value)).toBeLessThan(1_000_000);
    expect(Object.keys(value as object)).toHaveLength(10);
  });

  it("caps array items and string padding", () => {
    const value = schemaInstance(
      { type: "array", minItems: 1e9, items: { type: "string", minLength: 1e9 } },
      { request: "x" },
    ) as string[];
    expect(value).toHaveLength(100);
    expect(value[0]).toHaveLength(4096);
    expect(size(value)).toBeLessThan(1_000_000);
  });

  it("reads only the first options of a huge anyOf, and a seed only among the first enum members", () => {
    const anyOf = [{ type: "boolean" }, ...Array.from({ length: 100_000 }, () => ({ type: "string" }))];
    expect(schemaInstance({ anyOf }, { request: "x" })).toBe(false);
    const members = Array.from({ length: 100_000 }, (_, i) => i);
    expect(schemaInstance({ enum: members }, { request: "x", seed: 7 })).toBe(7);
    expect(schemaInstance({ enum: members }, { request: "x", seed: 99_999 })).toBe(0);
  });

  it("stops deep nesting at depth 12", () => {
    let schema: Schema = { type: "string" };
    for (let i = 0; i < 2000; i++) schema = { type: "object", properties: { inner: schema } };
    let value = schemaInstance(schema, { request: "x" }) as Record<string, unknown>;
    let depth = 0;
    while (value.inner) {
      value = value.inner as Record<string, unknown>;
      depth += 1;
    }
    expect(depth).toBe(12);
  });
});
