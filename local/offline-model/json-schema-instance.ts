import { z } from "zod";

/**
 * A JSON Schema (draft-07 / 2020-12 subset as OpenAI structured outputs and function
 * parameters use it): a plain object, read loosely.
 */
export type JsonSchema = Record<string, unknown>;

/** Options of {@link schemaInstance}. */
export interface InstanceOptions {
  /** The user's request; strings are derived from it (and from the property name). */
  request: string;
  /**
   * Preferred values, shaped like the instance: a seed leaf is kept where it fits the schema
   * node (right JSON type, enum member, length bounds), so a specific answer survives a schema
   * that differs from what the caller expected.
   */
  seed?: unknown;
}

const MAX_DEPTH = 12;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

/**
 * A deterministic instance of `schema`: objects carry every property, strings are derived from
 * the property name and the request (respecting minLength/maxLength and common formats),
 * numbers are 0 or the minimum, booleans false, enums and anyOf/oneOf take their first option,
 * `const` its value, arrays one item (or minItems), nullable nodes null. Local `$ref`s
 * (`#/$defs/…`, `#/definitions/…`) are followed; recursion stops at depth 12 with null/[]/{}.
 * `pattern` and `not` are not honoured (check with {@link matchesSchema} when it matters).
 */
export function schemaInstance(schema: JsonSchema, options: InstanceOptions): unknown {
  return build(schema, schema, "value", options.seed, options.request, 0);
}

function resolve(root: JsonSchema, node: JsonSchema): JsonSchema {
  let current = node;
  for (let hops = 0; hops < 16 && typeof current.$ref === "string"; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#")) return {};
    let target: unknown = root;
    for (const part of ref.slice(1).split("/").filter(Boolean)) {
      const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      target = isObject(target) ? target[key] : undefined;
    }
    const { $ref: _ignored, ...rest } = current;
    current = isObject(target) ? { ...target, ...rest } : rest;
  }
  return current;
}

function typesOf(node: JsonSchema): string[] {
  if (Array.isArray(node.type)) return node.type.filter((t): t is string => typeof t === "string");
  if (typeof node.type === "string") return [node.type];
  if (isObject(node.properties)) return ["object"];
  if (isObject(node.items) || Array.isArray(node.prefixItems)) return ["array"];
  return [];
}

function build(
  root: JsonSchema,
  raw: JsonSchema,
  name: string,
  seed: unknown,
  request: string,
  depth: number,
): unknown {
  const node = resolve(root, raw);
  if ("const" in node) return node.const;
  if (Array.isArray(node.enum) && node.enum.length > 0) {
    return node.enum.some((v) => Object.is(v, seed)) ? seed : node.enum[0];
  }
  const options = (
    Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : []
  ).filter(isObject);
  if (options.length > 0) {
    const nullable = options.some((o) => typesOf(resolve(root, o)).includes("null"));
    if (nullable && (seed === null || seed === undefined || depth >= MAX_DEPTH)) return null;
    const nonNull = options.filter((o) => !typesOf(resolve(root, o)).every((t) => t === "null"));
    const chosen = nonNull.find((o) => fits(root, o, seed)) ?? options[0] ?? {};
    return build(root, chosen, name, seed, request, depth + 1);
  }
  if (Array.isArray(node.allOf) && node.allOf.length > 0) {
    const merged: JsonSchema = { ...node, allOf: undefined };
    const properties: Record<string, unknown> = isObject(node.properties) ? { ...node.properties } : {};
    for (const part of node.allOf.filter(isObject)) {
      const r = resolve(root, part);
      Object.assign(merged, r);
      if (isObject(r.properties)) Object.assign(properties, r.properties);
    }
    if (Object.keys(properties).length > 0) merged.properties = properties;
    return build(root, merged, name, seed, request, depth + 1);
  }
  const types = typesOf(node);
  if (types.includes("null") && (seed === null || seed === undefined || depth >= MAX_DEPTH)) return null;
  const type = types.find((t) => t !== "null") ?? "string";
  if (depth >= MAX_DEPTH) return type === "array" ? [] : type === "object" ? {} : null;
  switch (type) {
    case "object":
      return buildObject(root, node, seed, request, depth);
    case "array":
      return buildArray(root, node, name, seed, request, depth);
    case "integer":
    case "number":
      return typeof seed === "number" && fitsNumber(node, seed, type) ? seed : numberFor(node, type);
    case "boolean":
      return typeof seed === "boolean" ? seed : false;
    default:
      return typeof seed === "string" && fitsString(node, seed) ? seed : stringFor(node, name, request);
  }
}

function buildObject(
  root: JsonSchema,
  node: JsonSchema,
  seed: unknown,
  request: string,
  depth: number,
): Record<string, unknown> {
  const properties = isObject(node.properties) ? node.properties : {};
  const required = Array.isArray(node.required) ? node.required.filter((k) => typeof k === "string") : [];
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(properties), ...required])) {
    const child = properties[key];
    out[key] = build(
      root,
      isObject(child) ? child : {},
      key,
      isObject(seed) ? seed[key] : undefined,
      request,
      depth + 1,
    );
  }
  return out;
}

function buildArray(
  root: JsonSchema,
  node: JsonSchema,
  name: string,
  seed: unknown,
  request: string,
  depth: number,
): unknown[] {
  const min = typeof node.minItems === "number" ? node.minItems : 0;
  const max = typeof node.maxItems === "number" ? node.maxItems : Number.POSITIVE_INFINITY;
  const items = isObject(node.items) ? node.items : {};
  const prefix = Array.isArray(node.prefixItems) ? node.prefixItems.filter(isObject) : [];
  const schemaAt = (i: number) => prefix[i] ?? items;
  if (Array.isArray(seed) && seed.length >= min && seed.length <= max) {
    return seed.map((s, i) => build(root, schemaAt(i), name, s, request, depth + 1));
  }
  const count = Math.min(max, Math.max(min, prefix.length, 1));
  return Array.from({ length: count }, (_, i) =>
    build(root, schemaAt(i), name, undefined, request, depth + 1),
  );
}

function fitsString(node: JsonSchema, value: string): boolean {
  if (typeof node.minLength === "number" && value.length < node.minLength) return false;
  if (typeof node.maxLength === "number" && value.length > node.maxLength) return false;
  return typeof node.format !== "string" && typeof node.pattern !== "string";
}

function fitsNumber(node: JsonSchema, value: number, type: string): boolean {
  if (type === "integer" && !Number.isInteger(value)) return false;
  if (typeof node.minimum === "number" && value < node.minimum) return false;
  if (typeof node.maximum === "number" && value > node.maximum) return false;
  if (typeof node.exclusiveMinimum === "number" && value <= node.exclusiveMinimum) return false;
  return !(typeof node.exclusiveMaximum === "number" && value >= node.exclusiveMaximum);
}

function fits(root: JsonSchema, raw: JsonSchema, seed: unknown): boolean {
  if (seed === undefined) return false;
  const types = typesOf(resolve(root, raw));
  const kind = seed === null ? "null" : Array.isArray(seed) ? "array" : typeof seed;
  return types.some((t) => t === kind || (t === "integer" && kind === "number"));
}

/** 0 moved into the node's bounds (so: 0, or the minimum, or the maximum), an integer for integers. */
function numberFor(node: JsonSchema, type: string): number {
  const step = type === "integer" ? 1 : 0.5;
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const lo = num(node.minimum) ?? (num(node.exclusiveMinimum) ?? Number.NEGATIVE_INFINITY) + step;
  const hi = num(node.maximum) ?? (num(node.exclusiveMaximum) ?? Number.POSITIVE_INFINITY) - step;
  const value = Math.min(Math.max(0, lo), hi);
  return type === "integer" ? (value === lo ? Math.ceil(value) : Math.floor(value)) : value;
}

const FORMATS: Record<string, string> = {
  "date-time": "1970-01-01T00:00:00Z",
  date: "1970-01-01",
  time: "00:00:00Z",
  email: "offline@example.com",
  uri: "https://example.com/",
  url: "https://example.com/",
  uuid: "00000000-0000-4000-8000-000000000000",
  hostname: "example.com",
  ipv4: "127.0.0.1",
  ipv6: "::1",
};

function stringFor(node: JsonSchema, name: string, request: string): string {
  const format = typeof node.format === "string" ? FORMATS[node.format] : undefined;
  if (format) return format;
  const words = request.replace(/\s+/g, " ").trim();
  let value = words ? `${name}: ${words}` : name;
  const max = typeof node.maxLength === "number" ? node.maxLength : 200;
  value = clip(value, max);
  const min = typeof node.minLength === "number" ? node.minLength : 0;
  return value.length < min ? value.padEnd(min, ".") : value;
}

/**
 * Whether `value` is valid against `schema`, checked with zod's `z.fromJSONSchema`. A schema zod
 * cannot read counts as satisfied (the instance is then the best the model can do).
 */
export function matchesSchema(schema: JsonSchema, value: unknown): boolean {
  let validator: z.ZodType;
  try {
    validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    return true;
  }
  return validator.safeParse(value).success;
}

/**
 * `preferred` when it is valid against `schema`, otherwise a {@link schemaInstance} seeded with
 * it: what the offline model sends for any json_schema response or tool arguments.
 */
export function conformTo(schema: JsonSchema, preferred: unknown, request: string): unknown {
  if (matchesSchema(schema, preferred)) return preferred;
  return schemaInstance(schema, { request, seed: preferred });
}
