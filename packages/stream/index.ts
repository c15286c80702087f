/**
 * packages/stream: the stream app (SSE routes of the response-streaming Function URL) and its
 * tail engine (per-run shared poller, flush strategies, stream formats). Other packages import
 * from here only; this list is what they use.
 */
export { FLUSH_STRATEGIES, type FlushStrategy } from "./flush.ts";
export { createStreamApp, type StreamSettings } from "./stream-app.ts";
