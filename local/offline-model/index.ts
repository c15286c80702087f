/**
 * local/offline-model: a deterministic OpenAI-compatible server for local runs, tests and
 * benchmarks. Only local/stack (and test/, bench/) import it; this list is what they use: the
 * app, its test controls (request-controlled failures, stalls, resets, pace), how it reads a
 * request (tool needs, arithmetic), its tokenizer, schema instances and model id.
 */
export { createOfflineModelApp, type OfflineModelOptions } from "./app.ts";
export { findArithmetic, normaliseExpression } from "./arithmetic.ts";
export { schemaInstance } from "./json-schema-instance.ts";
export { OFFLINE_MODEL_ID } from "./openai-completion.ts";
export { tokenize } from "./responder.ts";
export { type TestControls, type TestControlsPatch, TestControlsPatchSchema } from "./test-controls.ts";
export { detectToolNeeds } from "./tool-needs.ts";
