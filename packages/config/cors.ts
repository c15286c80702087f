/**
 * The CORS policy, in one place: the local stack applies it with hono/cors; on AWS the same
 * lists configure API Gateway's and the Function URL's own CORS (infra/), and the functions add
 * no CORS headers of their own, so a browser never sees a header twice.
 */
export const CORS_POLICY = {
  allowMethods: ["GET", "POST", "OPTIONS"],
  /** Request headers a browser may send: bearer token, JSON body, idempotency, SSE resume. */
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
  /** Response headers scripts may read. */
  exposeHeaders: ["Location", "Idempotent-Replayed", "Retry-After", "X-Run-Id"],
  /** How long a browser may cache a preflight answer (s). */
  maxAgeSeconds: 600,
} as const;

/** The origins in a comma-separated CORS_ORIGINS value (blank entries dropped). */
export const parseOrigins = (value: string): string[] =>
  value
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
