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
/**
 * Most work one instance may take, in units: one per node built, per property, option or enum
 * member looked at, and per 64 characters of string made. Depth alone does not bound a schema
 * whose `$ref`s fan out (10 properties that each refer back to their own node make 10^12 nodes
 * at depth 12); past this, objects and arrays come out empty and strings short, so a hostile
 * schema costs milliseconds and kilobytes, not minutes and gigabytes.
 */
const MAX_WORK = 20_000;
/** Most anyOf/oneOf/allOf members read from one node. */
const MAX_OPTIONS = 64;
/** Most enum members compared with a seed. */
const MAX_ENUM_SCAN = 1024;
/** Most items of one array (minItems above it is not met). */
const MAX_ITEMS = 100;
/** Longest string padding for minLength (a larger minLength is not met). */
const MAX_PAD = 4096;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);

/** What one {@link schemaInstance} call shares: the root (for `$ref`s), the request's words and the work left. */
interface Build {
  root: JsonSchema;
  /** The request on one line: the source of derived strings. */
  words: string;
  /** Work units left (see MAX_WORK); at or below 0, containers come out empty. */
  left: number;
}

/**
 * A deterministic instance of `schema`: objects carry every property, strings are derived from
 * the property name and the request (respecting minLength/maxLength and common formats),
 * numbers are 0 or the minimum, booleans false, enums and anyOf/oneOf take their first option,
 * `const` its value, arrays one item (or minItems), nullable nodes null. Local `$ref`s
 * (`#/$defs/…`, `#/definitions/…`) are followed; recursion stops at depth 12 with null/[]/{}.
 * `pattern` and `not` are not honoured (check with {@link matchesSchema} when it matters).
 * Bounded for any schema: at most 64 options per anyOf/oneOf/allOf, 100 array items, strings
 * padded to 4096 characters, and a work budget past which objects and arrays are empty (the
 * instance may then break the schema; a schema that large is not one a tool really takes).
 */
export function schemaInstance(schema: JsonSchema, options: InstanceOptions): unknown {
  const b: Build = { root: schema, words: options.request.replace(/\s+/g, " ").trim(), left: MAX_WORK };
  return build(b, schema, "value", options.seed, 0);
}

/**
 * `node` with its local `$ref` followed (at most 16 hops; sibling keywords override the
 * target's, as in 2020-12), `{}` for a remote ref. Callers reading a schema node's enum or type
 * use it so `{"$ref": "#/$defs/region"}` reads as the region enum it names.
 */
export function resolveSchemaNode(root: JsonSchema, node: JsonSchema): JsonSchema {
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

const resolve = resolveSchemaNode;

/**
 * The JSON types a schema node admits: its `type` (a string or a list), else `object` for a
 * node with `properties`, `array` for one with `items`/`prefixItems`, else [] (any).
 */
export function typesOf(node: JsonSchema): string[] {
  if (Array.isArray(node.type)) return node.type.filter((t): t is string => typeof t === "string");
  if (typeof node.type === "string") return [node.type];
  if (isObject(node.properties)) return ["object"];
  if (isObject(node.items) || Array.isArray(node.prefixItems)) return ["array"];
  return [];
}

/**
 * The anyOf (else oneOf) members of `node` that are objects, at most MAX_OPTIONS of them. Read
 * by index, not filtered whole, so a list of millions costs what 64 do.
 */
export function schemaOptions(node: JsonSchema): JsonSchema[] {
  const list = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : [];
  const out: JsonSchema[] = [];
  for (let i = 0; i < list.length && out.length < MAX_OPTIONS; i++) {
    const option: unknown = list[i];
    if (isObject(option)) out.push(option);
  }
  return out;
}

/** `seed` when it is one of the first MAX_ENUM_SCAN members of `members`, else the first member. */
function enumValue(b: Build, members: readonly unknown[], seed: unknown): unknown {
  const scan = Math.min(members.length, MAX_ENUM_SCAN);
  b.left -= scan;
  for (let i = 0; i < scan; i++) if (Object.is(members[i], seed)) return seed;
  return members[0];
}

function build(b: Build, raw: JsonSchema, name: string, seed: unknown, depth: number): unknown {
  b.left -= 1;
  const node = resolve(b.root, raw);
  if ("const" in node) return node.const;
  if (Array.isArray(node.enum) && node.enum.length > 0) return enumValue(b, node.enum, seed);
  const options = schemaOptions(node);
  if (options.length > 0) return buildOption(b, options, name, seed, depth);
  if (Array.isArray(node.allOf) && node.allOf.length > 0 && b.left > 0) {
    return build(b, mergeAllOf(b, node), name, seed, depth + 1);
  }
  const types = typesOf(node);
  if (types.includes("null") && (seed === null || seed === undefined || depth >= MAX_DEPTH)) return null;
  const type = types.find((t) => t !== "null") ?? "string";
  if (depth >= MAX_DEPTH) return type === "array" ? [] : type === "object" ? {} : null;
  switch (type) {
    case "object":
      return b.left > 0 ? buildObject(b, node, seed, depth) : {};
    case "array":
      return b.left > 0 ? buildArray(b, node, name, seed, depth) : [];
    case "integer":
    case "number":
      return typeof seed === "number" && fitsNumber(node, seed, type) ? seed : numberFor(node, type);
    case "boolean":
      return typeof seed === "boolean" ? seed : false;
    default:
      return typeof seed === "string" && fitsString(node, seed) ? seed : stringFor(b, node, name);
  }
}

/** An anyOf/oneOf node: null when nullable and unseeded (or too deep), else the option the seed fits, else the first. */
function buildOption(b: Build, options: JsonSchema[], name: string, seed: unknown, depth: number): unknown {
  b.left -= options.length;
  const nullable = options.some((o) => typesOf(resolve(b.root, o)).includes("null"));
  if (nullable && (seed === null || seed === undefined || depth >= MAX_DEPTH)) return null;
  const nonNull = options.filter((o) => !typesOf(resolve(b.root, o)).every((t) => t === "null"));
  const chosen = nonNull.find((o) => fits(b.root, o, seed)) ?? options[0] ?? {};
  return build(b, chosen, name, seed, depth + 1);
}

/** One node from an allOf node: its own keywords, then each member's (properties joined). */
function mergeAllOf(b: Build, node: JsonSchema): JsonSchema {
  const merged: JsonSchema = { ...node, allOf: undefined };
  const properties: Record<string, unknown> = isObject(node.properties) ? { ...node.properties } : {};
  const parts = Array.isArray(node.allOf) ? node.allOf.slice(0, MAX_OPTIONS).filter(isObject) : [];
  for (const part of parts) {
    const r = resolve(b.root, part);
    Object.assign(merged, r);
    if (isObject(r.properties)) Object.assign(properties, r.properties);
  }
  b.left -= parts.length + Object.keys(properties).length;
  if (Object.keys(properties).length > 0) merged.properties = properties;
  return merged;
}

function buildObject(b: Build, node: JsonSchema, seed: unknown, depth: number): Record<string, unknown> {
  const properties = isObject(node.properties) ? node.properties : {};
  const required = Array.isArray(node.required) ? node.required.filter((k) => typeof k === "string") : [];
  const keys = new Set([...Object.keys(properties), ...required]);
  b.left -= keys.size;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const child = properties[key];
    out[key] = build(b, isObject(child) ? child : {}, key, isObject(seed) ? seed[key] : undefined, depth + 1);
  }
  return out;
}

function buildArray(b: Build, node: JsonSchema, name: string, seed: unknown, depth: number): unknown[] {
  const min = typeof node.minItems === "number" ? node.minItems : 0;
  const max = typeof node.maxItems === "number" ? node.maxItems : Number.POSITIVE_INFINITY;
  const items = isObject(node.items) ? node.items : {};
  const prefix = Array.isArray(node.prefixItems) ? node.prefixItems.slice(0, MAX_ITEMS).filter(isObject) : [];
  const schemaAt = (i: number) => prefix[i] ?? items;
  if (Array.isArray(seed) && seed.length >= min && seed.length <= max && seed.length <= MAX_ITEMS) {
    return seed.map((s, i) => build(b, schemaAt(i), name, s, depth + 1));
  }
  const count = Math.min(max, Math.max(min, prefix.length, 1), MAX_ITEMS);
  return Array.from({ length: Math.max(0, count) }, (_, i) =>
    build(b, schemaAt(i), name, undefined, depth + 1),
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

function stringFor(b: Build, node: JsonSchema, name: string): string {
  const format = typeof node.format === "string" ? FORMATS[node.format] : undefined;
  if (format) return format;
  const max = typeof node.maxLength === "number" ? node.maxLength : 200;
  // Out of budget: the name alone, unpadded (a minLength is then not met).
  if (b.left <= 0) return clip(name, max);
  const value = clip(b.words ? `${name}: ${b.words}` : name, max);
  const min = typeof node.minLength === "number" ? Math.min(node.minLength, MAX_PAD) : 0;
  const out = value.length < min ? value.padEnd(min, ".") : value;
  b.left -= Math.ceil(out.length / 64);
  return out;
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
