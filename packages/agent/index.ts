export * from "./delta-coalescer.ts";
export * from "./errors.ts";
export * from "./finalize.ts";
export * from "./model-client.ts";
export * from "./progress.ts";
export * from "./run-state.ts";
export * from "./stage-context.ts";
export * from "./stage-runner.ts";
