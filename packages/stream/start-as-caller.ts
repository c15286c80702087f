import type { Context } from "hono";
import {
  type AppEnv,
  HttpError,
  idempotencyKeyOf,
  readJsonBody,
  startAsCaller as startWithHttpErrors,
} from "../http/index.ts";
import type { CreateRunRequest } from "../run-start/index.ts";
import type { StreamKit } from "./stream-kit.ts";

/** A validated start request (what POST /runs takes: question, projectId, conversationId, params). */
export type StartInput = CreateRunRequest;

/**
 * The JSON object a start route's body holds (the Kubernetes agent's and the project chat's
 * APIs send one; their fields differ from POST /runs', so each route maps them itself).
 * @throws HttpError 415 `unsupported_media_type` (not application/json), 400 `invalid_json`,
 *   400 `invalid_request` (JSON that is not an object).
 */
export async function readJsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const raw = await readJsonBody(c);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new HttpError(400, "invalid_request", "body: the request body must be a JSON object");
  }
  return raw as Record<string, unknown>;
}

/**
 * Start a run as the caller from an already validated request on a stream host: the errors
 * POST /runs answers (packages/http startAsCaller), for routes whose body is not POST /runs'.
 * @param idempotencyKey the key to start under; default the request's `Idempotency-Key`.
 * @param conflict the 422 message when that key was used for another request.
 * @returns the run id (an existing one when the idempotency key replays a start).
 * @throws HttpError 404 `not_found` (this host does not start runs), 400
 *   `invalid_idempotency_key`, and what packages/http's startAsCaller throws.
 */
export async function startAsCaller(
  c: Context<AppEnv>,
  kit: StreamKit,
  input: StartInput,
  idempotencyKey: string | undefined = idempotencyKeyOf(c),
  conflict?: string,
): Promise<string> {
  const { deps, log } = kit;
  if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
  const started = await startWithHttpErrors(
    c,
    { store: deps.store, ...deps.start, log },
    input,
    idempotencyKey,
    conflict,
  );
  return started.runId;
}
