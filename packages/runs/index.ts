export * from "./schema.ts";
export * from "./start-run.ts";
export * from "./trigger.ts";
