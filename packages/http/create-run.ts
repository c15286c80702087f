import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  type CreateRunRequest,
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

/**
 * Middleware: 413 `payload_too_large` for a body over `maxBytes` (default {@link MAX_BODY_BYTES}),
 * before it is read whole. Routes whose clients resend a whole conversation (AG-UI, the AI SDK
 * chat) pass a larger bound.
 */
export function limitBody(maxBytes: number = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HttpError(413, "payload_too_large", `The request body exceeds ${maxBytes} bytes.`);
    },
  });
}

/**
 * The request's JSON body.
 * @throws HttpError 415 `unsupported_media_type` (not application/json), 400 `invalid_json`.
 */
export async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  return c.req.json().catch(() => {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  });
}

/**
 * The request's `Idempotency-Key` header, if it has one.
 * @throws HttpError 400 `invalid_idempotency_key` for one that is not 1–255 visible ASCII characters.
 */
export function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !IdempotencyKeySchema.safeParse(key).success) {
    throw new HttpError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 visible ASCII characters.",
    );
  }
  return key;
}

/**
 * Start a run as the caller from a validated input: the one place every start route (POST
 * /runs, POST /ask-stream, the seed APIs, AG-UI, the AI SDK chat) turns startRun's refusals
 * into the same HTTP answers.
 * @param conflict the 422 message (a route names its own idempotency key, e.g. AG-UI's runId).
 * @throws HttpError 429 `too_many_active_runs` (Retry-After 10), 422 `idempotency_key_reused`,
 *   503 `workflow_unavailable` (Retry-After 5); StoreError otherwise.
 */
export async function startAsCaller(
  c: Context<AppEnv>,
  deps: StartRunDeps,
  input: CreateRunRequest,
  idempotencyKey?: string,
  conflict = "This Idempotency-Key was used with a different request.",
): Promise<StartOutcome> {
  try {
    return await startRun(deps, {
      owner: principalOf(c),
      input,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
  } catch (err) {
    if (err instanceof TooManyActiveRunsError) {
      throw new HttpError(429, "too_many_active_runs", err.message, { "Retry-After": "10" });
    }
    if (err instanceof IdempotencyConflictError) throw new HttpError(422, "idempotency_key_reused", conflict);
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

/**
 * Validate a start request (POST /runs, POST /ask-stream) and start the run as the caller.
 * The one place both routes turn a body into a run, so they accept and refuse the same input.
 * @throws HttpError 415 `unsupported_media_type`, 400 `invalid_json` / `invalid_request` /
 *   `invalid_idempotency_key`, and what {@link startAsCaller} throws.
 */
export async function startRunFromRequest(c: Context<AppEnv>, deps: StartRunDeps): Promise<StartOutcome> {
  const parsed = CreateRunSchema.safeParse(await readJsonBody(c));
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  return startAsCaller(c, deps, parsed.data, idempotencyKeyOf(c));
}
