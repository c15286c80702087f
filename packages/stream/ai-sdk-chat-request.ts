import { z } from "zod";
import { HttpError } from "../http/index.ts";
import { CreateRunSchema, describeIssues } from "../run-start/index.ts";

/**
 * A chat id as Stagecast takes it: it becomes the run's `conversationId`, so it has that
 * field's format (1–64 of `[A-Za-z0-9_.-]`); `.` and `..` are refused as the AI SDK refuses
 * them in its reconnect URL (ai 7.x src/ui/http-chat-transport.ts, reconnectToStream).
 * `useChat`'s generated ids (16 alphanumerics) and UUIDs fit.
 */
export const ChatIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "a chat id is 1-64 characters of A-Z a-z 0-9 _ . -")
  .refine((id) => id !== "." && id !== "..", "a chat id may not be . or ..");

/** Most messages one chat request may carry (the body limit binds first in practice). */
const MAX_MESSAGES = 1000;

/** A UI message as the request carries it: only `role` and `parts` (each with a `type`) are read. */
const UiMessageSchema = z.looseObject({
  role: z.enum(["system", "user", "assistant"]),
  parts: z.array(z.looseObject({ type: z.string() })),
});

/**
 * The body `DefaultChatTransport` POSTs (ai 7.x src/ui/http-chat-transport.ts, sendMessages:
 * `{ ...body, id, messages, trigger, messageId }`). Extra fields are allowed (the transport's
 * `body` option adds its own); `projectId` and `params` among them are passed on to the run
 * and validated as POST /runs validates them. `trigger` may be left out (a client that sends
 * only the last message, see docs/api.md §10).
 */
export const ChatRequestSchema = z.looseObject({
  id: ChatIdSchema,
  messages: z.array(UiMessageSchema).min(1, "messages must not be empty").max(MAX_MESSAGES),
  trigger: z.enum(["submit-message", "regenerate-message"]).optional(),
  messageId: z.string().nullish(),
  projectId: z.unknown().optional(),
  params: z.unknown().optional(),
});
/** A validated chat request. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** The start request a chat request becomes (POST /runs's body, validated). */
export type ChatRunRequest = z.infer<typeof CreateRunSchema>;

/**
 * The run a chat request asks for: the question is the text of the last user message (its
 * `text` parts, joined by a line feed; other parts, files included, are not read), the
 * conversation is the chat (`conversationId` = chat `id`), and `projectId` / `params` come from
 * the body when it has them.
 * @param raw the parsed JSON body.
 * @throws HttpError 400 `invalid_request` naming the field: a body that is not a chat
 *   request, no user message, a last user message without text, or a question, projectId or
 *   params that POST /runs would refuse.
 */
export function chatRunRequest(raw: unknown): ChatRunRequest {
  const parsed = ChatRequestSchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  const { id, messages, projectId, params } = parsed.data;
  const last = messages.findLast((m) => m.role === "user");
  if (!last) throw new HttpError(400, "invalid_request", "messages: there is no user message to answer.");
  const question = last.parts
    .flatMap((p) => (p.type === "text" && typeof p.text === "string" ? [p.text] : []))
    .join("\n");
  if (question.trim() === "") {
    throw new HttpError(400, "invalid_request", "messages: the last user message has no text.");
  }
  const run = CreateRunSchema.safeParse({
    question,
    conversationId: id,
    ...(projectId === undefined ? {} : { projectId }),
    ...(params === undefined ? {} : { params }),
  });
  if (!run.success) {
    // The client sent no `question`: name what it did send instead.
    const issues = run.error.issues.map(
      (i) => `${i.path[0] === "question" ? "the last user message's text" : i.path.join(".")}: ${i.message}`,
    );
    throw new HttpError(400, "invalid_request", issues.join("; "));
  }
  return run.data;
}
