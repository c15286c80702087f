export * from "./caller.ts";
export * from "./errors.ts";
export * from "./stream-tokens.ts";
