import { createHash } from "node:crypto";
import * as z from "zod";
import { HttpError } from "../http/index.ts";
import { CreateRunSchema, describeIssues } from "../run-start/index.ts";

/** A text part of a message's content (AG-UI TextPartSchema); other parts (image, audio, …) carry no question text. */
const TextPartSchema = z.looseObject({ type: z.literal("text"), text: z.string() });
const PartSchema = z.looseObject({ type: z.string() });
/** An AG-UI message (MessageSchema, discriminated on `role`), as far as a question is read from it. */
const MessageSchema = z.looseObject({
  id: z.string(),
  role: z.enum(["developer", "system", "assistant", "user", "tool", "activity", "reasoning"]),
  content: z.union([z.string(), z.array(PartSchema), z.record(z.string(), z.unknown())]).optional(),
});
/** `forwardedProps.stagecast`: what POST /runs takes besides the question (checked by CreateRunSchema). */
const StagecastPropsSchema = z.strictObject({
  projectId: z.unknown().optional(),
  params: z.unknown().optional(),
});

/**
 * AG-UI's RunAgentInput as POST /ag-ui reads it: @ag-ui/core 1.0.0's RunAgentInputSchema
 * (src/generated/schemas.ts; docs.ag-ui.com "Types": threadId, runId, messages, tools, context,
 * state, forwardedProps) for the fields Stagecast uses, loose like it, so what AG-UI clients
 * send is accepted. Written with the project's zod rather than imported: @ag-ui/core is a
 * development dependency, not shipped with the stream (its schemas do load under zod 4, through
 * `zod/v4`; the unit tests check both accept the same inputs).
 * - `threadId`, `runId`: 1–256 characters (AG-UI allows any string; an empty id is a client bug).
 * - `messages`: AG-UI messages (`id`, `role`, `content`); a user message's content is a string
 *   or a list of parts, of which `text` parts are read.
 * - `forwardedProps`: any value; when it is an object, its optional `stagecast` member is
 *   `{ projectId, params }` as POST /runs takes them (see {@link agUiStart}).
 */
export const AgUiRunInputSchema = z.looseObject({
  threadId: z.string().min(1).max(256),
  runId: z.string().min(1).max(256),
  messages: z.array(MessageSchema),
  tools: z.array(z.looseObject({ name: z.string(), description: z.string() })).optional(),
  context: z.array(z.looseObject({ description: z.string(), value: z.string() })).optional(),
  state: z.unknown().optional(),
  // Any JSON (AG-UI's forwardedProps is the client's own); only its `stagecast` member is read.
  forwardedProps: z.unknown().optional(),
});
/** A RunAgentInput as {@link AgUiRunInputSchema} validated it. */
export type AgUiRunInput = z.infer<typeof AgUiRunInputSchema>;

/** What starting an AG-UI run takes: POST /runs' input, and the idempotency key its runId gives. */
export interface AgUiStart {
  input: z.infer<typeof CreateRunSchema>;
  /** `ag-ui.<sha256(runId), hex>`: the same AG-UI runId (per caller) starts one run, whatever it contains. */
  idempotencyKey: string;
  /** The request's threadId, which RUN_STARTED and RUN_FINISHED echo. */
  threadId: string;
}

/** The text of a user message: its string content, or its `text` parts joined by newlines. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => TextPartSchema.safeParse(part))
    .flatMap((part) => (part.success ? [part.data.text] : []))
    .join("\n");
}

/**
 * `forwardedProps.stagecast` (`{}` when forwardedProps is not an object or has no such member).
 * @throws HttpError 400 `invalid_request` for a `stagecast` member that is not `{ projectId?, params? }`.
 */
function stagecastProps(forwardedProps: unknown): z.infer<typeof StagecastPropsSchema> {
  if (typeof forwardedProps !== "object" || forwardedProps === null || !("stagecast" in forwardedProps)) {
    return {};
  }
  const props = StagecastPropsSchema.safeParse(forwardedProps.stagecast);
  if (!props.success) {
    throw new HttpError(400, "invalid_request", `forwardedProps.stagecast: ${describeIssues(props.error)}`);
  }
  return props.data;
}

/** Whether `threadId` is a conversationId POST /runs would take (CreateRunSchema's own check). */
const isConversationId = (threadId: string): boolean =>
  CreateRunSchema.shape.conversationId.safeParse(threadId).success;

/**
 * Turn a POST /ag-ui body into a start: the question is the last user message's text; the
 * threadId is the conversationId when it is one POST /runs would take (1–64 of
 * `[A-Za-z0-9_.-]`), so the runs of one AG-UI thread are turns of one conversation; `tools`,
 * `context`, `state` and the rest of `forwardedProps` are accepted and not used.
 * @param raw the parsed JSON body.
 * @throws HttpError 400 `invalid_request` (not a RunAgentInput, or a question, projectId or
 *   params that POST /runs would refuse; the message names each field), 400 `no_user_message`
 *   (no user message with text).
 */
export function agUiStart(raw: unknown): AgUiStart {
  const parsed = AgUiRunInputSchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  const { threadId, runId, messages, forwardedProps } = parsed.data;
  const question = textOf(messages.findLast((m) => m.role === "user")?.content).trim();
  if (!question) {
    throw new HttpError(
      400,
      "no_user_message",
      "messages must hold a user message with text: the last one is the question.",
    );
  }
  const props = stagecastProps(forwardedProps);
  const input = CreateRunSchema.safeParse({
    question,
    ...(isConversationId(threadId) ? { conversationId: threadId } : {}),
    ...(props.projectId === undefined ? {} : { projectId: props.projectId }),
    ...(props.params === undefined ? {} : { params: props.params }),
  });
  if (!input.success) {
    // Name the fields as the client sent them (`forwardedProps.stagecast.params`, the last user message).
    const where = (path: string) =>
      path === "question" ? "messages (the last user message)" : `forwardedProps.stagecast.${path}`;
    const message = input.error.issues.map((i) => `${where(i.path.join("."))}: ${i.message}`).join("; ");
    throw new HttpError(400, "invalid_request", message);
  }
  const idempotencyKey = `ag-ui.${createHash("sha256").update(runId).digest("hex")}`;
  return { input: input.data, idempotencyKey, threadId };
}
