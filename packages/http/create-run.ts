import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  CreateRunSchema,
  describeIssues,
  IdempotencyConflictError,
  IdempotencyKeySchema,
  type StartOutcome,
  type StartRunDeps,
  startRun,
  TooManyActiveRunsError,
} from "../run-start/index.ts";
import { WorkflowUnavailableError } from "../workflow/index.ts";
import type { AppEnv } from "./app-env.ts";
import { principalOf } from "./auth.ts";
import { HttpError } from "./errors.ts";

/** Largest request body accepted (bytes); larger bodies get 413 before they are parsed. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Middleware: 413 `payload_too_large` for a body over {@link MAX_BODY_BYTES}, before it is read whole. */
export function limitBody(): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new HttpError(413, "payload_too_large", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    },
  });
}

/**
 * Validate a start request (POST /runs, POST /ask-stream) and start the run as the caller.
 * The one place both routes turn a body into a run, so they accept and refuse the same input.
 * @throws HttpError 415 `unsupported_media_type`, 400 `invalid_json` / `invalid_request` /
 *   `invalid_idempotency_key`, 429 `too_many_active_runs` (Retry-After 10), 422
 *   `idempotency_key_reused`, 503 `workflow_unavailable` (Retry-After 5); StoreError otherwise.
 */
export async function startRunFromRequest(c: Context<AppEnv>, deps: StartRunDeps): Promise<StartOutcome> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  const raw = await c.req.json().catch(() => {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  });
  const parsed = CreateRunSchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !IdempotencyKeySchema.safeParse(key).success) {
    throw new HttpError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 visible ASCII characters.",
    );
  }
  try {
    return await startRun(deps, {
      owner: principalOf(c),
      input: parsed.data,
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
  } catch (err) {
    if (err instanceof TooManyActiveRunsError) {
      throw new HttpError(429, "too_many_active_runs", err.message, { "Retry-After": "10" });
    }
    if (err instanceof IdempotencyConflictError) {
      throw new HttpError(
        422,
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request.",
      );
    }
    if (err instanceof WorkflowUnavailableError) {
      throw new HttpError(
        503,
        "workflow_unavailable",
        "The workflow could not be started. Try again shortly.",
        {
          "Retry-After": "5",
        },
      );
    }
    throw err;
  }
}
