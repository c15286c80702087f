import { z } from "zod";

/** Longest question accepted (characters). */
export const MAX_QUESTION_CHARS = 8000;

/** How long an idempotency key keeps returning the same run (s): 24 hours. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** An idempotency key: 1-255 visible ASCII characters (as the IETF draft's examples and Stripe's keys). */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "1-255 visible ASCII characters");

/** Most keys in a run's `params`. */
export const MAX_PARAMS = 20;

/** Longest string value in a run's `params` (characters). */
export const MAX_PARAM_CHARS = 1000;

/** A `params` key: a letter, then up to 63 letters, digits or `_`. */
const PARAM_KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

/**
 * A run's `params`: named values an agent reads as `ctx.input.params` (a Kubernetes agent's
 * `filter`, say). At most {@link MAX_PARAMS} keys matching {@link PARAM_KEY}; each value a
 * string of at most {@link MAX_PARAM_CHARS} characters, a finite number or a boolean.
 */
export const RunParamsSchema = z
  .record(
    z.string().regex(PARAM_KEY, "params keys must be a letter then up to 63 of A-Z a-z 0-9 _"),
    z.union(
      [
        z.string().max(MAX_PARAM_CHARS, `params values must be at most ${MAX_PARAM_CHARS} characters`),
        z.number(),
        z.boolean(),
      ],
      { error: "params values must be a string, a number or a boolean" },
    ),
    {
      error: (issue) =>
        issue.code === "invalid_key"
          ? "params keys must be a letter then up to 63 of A-Z a-z 0-9 _"
          : "params must be an object of named values",
    },
  )
  .refine((params) => Object.keys(params).length <= MAX_PARAMS, `params may have at most ${MAX_PARAMS} keys`);
/** A run's validated `params`. */
export type RunParams = z.infer<typeof RunParamsSchema>;

/**
 * A request to start a run, whoever sends it (POST /runs, an SQS message, an EventBridge
 * event). `question`: the user's request (1..8000 characters after trimming); `projectId`:
 * optional scope for memory, 1..64 of `[A-Za-z0-9_.-]`; `conversationId`: optional, same format,
 * links runs as turns of one conversation; `params`: optional named values for the agent (see
 * {@link RunParamsSchema}). Unknown fields are refused so a typo (`qestion`) is
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
  params: RunParamsSchema.optional(),
});
/** A validated start request. */
export type CreateRunRequest = z.infer<typeof CreateRunSchema>;

/** A zod error as one line: `field: problem; field: problem`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
}
