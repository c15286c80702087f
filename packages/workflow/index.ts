export * from "./definition.ts";
export * from "./port.ts";
export * from "./sfn-workflow.ts";
