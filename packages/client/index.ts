/**
 * @stagecast/client: the typed client for Node and browsers (docs/client.md). Event types come
 * from the shared zod schema, so `event.data` is typed by `event.type`.
 */
export type { EventOf, RunEvent, RunEventType, Stage, TerminalType } from "../events/schema.ts";
export { isTerminalType, RunEventSchema, STAGES, TERMINAL_TYPES } from "../events/schema.ts";
export { type ClientOptions, createClient } from "./client.ts";
export * from "./errors.ts";
export { elapsedMs, formatDuration, remainingMs } from "./eta.ts";
export type { TokenSource } from "./http.ts";
export * from "./run-view.ts";
export * from "./types.ts";
