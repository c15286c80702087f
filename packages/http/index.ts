/**
 * packages/http: what the API app and the stream app share at the HTTP edge — the Hono
 * environment type, JSON errors, caller auth middleware, the base app, run-id and cursor
 * parameters, and starting a run from a request. Other packages import from here only; this
 * list is what they use.
 */
export type { AppEnv } from "./app-env.ts";
export { type AuthSettings, authenticate, ownedBy, principalOf, unauthorized } from "./auth.ts";
export { baseApp } from "./base-app.ts";
export {
  idempotencyKeyOf,
  limitBody,
  readJsonBody,
  startAsCaller,
  startRunFromRequest,
} from "./create-run.ts";
export { parseCursor, streamCursor } from "./cursor.ts";
export { type ErrorBody, errorResponse, HttpError } from "./errors.ts";
export { runIdParam } from "./run-id-param.ts";
