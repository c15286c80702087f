/**
 * packages/auth: the jose-based verifiers (caller JWTs, run-scoped stream tokens). Other
 * packages import from here only; this list is what they use.
 */
export { bearer, CallerAuth } from "./caller.ts";
export { AuthError } from "./errors.ts";
export { STREAM_AUDIENCE, StreamTokens } from "./stream-tokens.ts";
export { WATCH_AUDIENCE, type WatchGrant, type WatchToken, WatchTokens } from "./watch-tokens.ts";
