/**
 * packages/http: the Hono apps (API and stream) and what a composition root needs to build and
 * serve them. Other packages import from here only; this list is what they use.
 */
export { createApiApp } from "./api-app.ts";
export type { AppEnv } from "./app-env.ts";
export type { AuthSettings } from "./auth.ts";
export { type ErrorBody, errorResponse, HttpError } from "./errors.ts";
export { FLUSH_STRATEGIES, type FlushStrategy } from "./flush.ts";
export { createStreamApp, type StreamSettings } from "./stream-app.ts";
