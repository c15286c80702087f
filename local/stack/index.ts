/**
 * local/stack: the local composition root (dynalite, the local workflow runner, one Node
 * server). main.ts is its entry point; bench/ and test/ start a stack through this list.
 */
export { type DynaliteHandle, startDynalite } from "./dynalite.ts";
export { type Served, serveApp } from "./serve.ts";
export { LOCAL_ARNS, type LocalStack, type LocalStackOptions, startLocalStack } from "./stack.ts";
