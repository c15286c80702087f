import type { Context } from "hono";
import type * as z from "zod";
import { type AppEnv, HttpError, principalOf } from "../http/index.ts";
import {
  type CreateRunSchema,
  IdempotencyConflictError,
  IdempotencyKeySchema,
  startRun,
  TooManyActiveRunsError,
} from "../run-start/index.ts";
import { WorkflowUnavailableError } from "../workflow/index.ts";
import type { StreamKit } from "./stream-kit.ts";

/** A validated start request (what POST /runs takes: question, projectId, conversationId, params). */
export type StartInput = z.infer<typeof CreateRunSchema>;

/**
 * The JSON object a start route's body holds (the Kubernetes agent's and the project chat's
 * APIs send one; their fields differ from POST /runs', so each route maps them itself).
 * @throws HttpError 415 `unsupported_media_type` (not application/json), 400 `invalid_json`,
 *   400 `invalid_request` (JSON that is not an object).
 */
export async function readJsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  const raw: unknown = await c.req.json().catch(() => {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  });
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new HttpError(400, "invalid_request", "body: the request body must be a JSON object");
  }
  return raw as Record<string, unknown>;
}

/**
 * Start a run as the caller from an already validated request, with the request's
 * `Idempotency-Key`: the errors POST /runs and POST /ask-stream answer, for routes whose body
 * is not POST /runs' (packages/http's startRunFromRequest reads and validates that body itself).
 * @returns the run id (an existing one when the idempotency key replays a start).
 * @throws HttpError 404 `not_found` (this host does not start runs), 400
 *   `invalid_idempotency_key`, 429 `too_many_active_runs` (Retry-After 10), 422
 *   `idempotency_key_reused`, 503 `workflow_unavailable` (Retry-After 5); StoreError otherwise.
 */
export async function startAsCaller(c: Context<AppEnv>, kit: StreamKit, input: StartInput): Promise<string> {
  const { deps, log } = kit;
  if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !IdempotencyKeySchema.safeParse(key).success) {
    throw new HttpError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 visible ASCII characters.",
    );
  }
  try {
    const started = await startRun(
      { store: deps.store, ...deps.start, log },
      { owner: principalOf(c), input, ...(key === undefined ? {} : { idempotencyKey: key }) },
    );
    return started.runId;
  } catch (err) {
    throw asHttpError(err);
  }
}

/** A start failure as the client sees it (see {@link startAsCaller}); anything else unchanged. */
function asHttpError(err: unknown): unknown {
  if (err instanceof TooManyActiveRunsError) {
    return new HttpError(429, "too_many_active_runs", err.message, { "Retry-After": "10" });
  }
  if (err instanceof IdempotencyConflictError) {
    return new HttpError(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was used with a different request.",
    );
  }
  if (err instanceof WorkflowUnavailableError) {
    return new HttpError(
      503,
      "workflow_unavailable",
      "The workflow could not be started. Try again shortly.",
      {
        "Retry-After": "5",
      },
    );
  }
  return err;
}
