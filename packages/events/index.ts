export * from "./schema.ts";
export * from "./sse.ts";
