/**
 * local/offline-model: a deterministic OpenAI-compatible server for local runs, tests and
 * benchmarks. Only local/stack (and test/, bench/) import it; this list is what they use.
 */
export { createOfflineModelApp, type OfflineModelOptions } from "./app.ts";
export { schemaInstance } from "./json-schema-instance.ts";
export { type OfflineKnobs, type OfflineKnobsPatch, OfflineKnobsPatchSchema } from "./knobs.ts";
export { detectNeeds, findArithmetic, normaliseExpression } from "./needs.ts";
export { tokenize } from "./responder.ts";
export { OFFLINE_MODEL_ID } from "./wire.ts";
