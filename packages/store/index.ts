export * from "./end-run.ts";
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./progress-store.ts";
export * from "./run-log.ts";
export * from "./run-record.ts";
export * from "./sweep.ts";
export * from "./table.ts";
