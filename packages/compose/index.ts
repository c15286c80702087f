/**
 * packages/compose: builds the parts from a configuration (store, model client, agent
 * dependencies, stream and auth settings). It sits above agent, http and runtime, so the
 * composition roots (local/stack, functions/aws.ts) use it and the leaves stay leaves.
 */
export { authSettings, devToken, generateSecret, isLoopback } from "./auth.ts";
export { corsOrigins, createAgentDeps, createModelClient, createStore, streamSettings } from "./compose.ts";
