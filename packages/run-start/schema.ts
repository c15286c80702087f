import { z } from "zod";

/** Longest question accepted (characters). */
export const MAX_QUESTION_CHARS = 8000;

/** How long an idempotency key keeps returning the same run (s): 24 hours. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** An idempotency key: 1-255 visible ASCII characters (as the IETF draft's examples and Stripe's keys). */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "1-255 visible ASCII characters");

/**
 * A request to start a run, whoever sends it (POST /runs, an SQS message, an EventBridge
 * event). `question`: the user's request (1..8000 characters after trimming); `projectId`:
 * optional scope for memory, 1..64 of `[A-Za-z0-9_.-]`; `conversationId`: optional, same format,
 * links runs as turns of one conversation. Unknown fields are refused so a typo (`qestion`) is
 * an error, not a silently empty run.
 */
export const CreateRunSchema = z.strictObject({
  question: z.string().trim().min(1, "question must not be empty").max(MAX_QUESTION_CHARS),
  projectId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "projectId must be 1-64 characters of A-Z a-z 0-9 _ . -")
    .optional(),
  conversationId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "conversationId must be 1-64 characters of A-Z a-z 0-9 _ . -")
    .optional(),
});
/** A validated start request. */
export type CreateRunRequest = z.infer<typeof CreateRunSchema>;

/** A zod error as one line: `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
}
