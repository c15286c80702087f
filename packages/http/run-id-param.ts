import { RunIdSchema } from "../events/index.ts";
import { HttpError } from "./errors.ts";

/**
 * The `runId` path parameter, validated.
 * @throws HttpError 400 `invalid_run_id` when it is not a ULID.
 */
export function runIdParam(value: string): string {
  const parsed = RunIdSchema.safeParse(value);
  if (!parsed.success) throw new HttpError(400, "invalid_run_id", "runId must be a ULID (26 characters).");
  return parsed.data;
}
