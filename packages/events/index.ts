export * from "./schema.ts";
export * from "./seed.ts";
export * from "./sse.ts";
