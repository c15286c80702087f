import type { Context, Hono } from "hono";
import * as z from "zod";
import { type AppEnv, authenticate, HttpError, limitBody } from "../http/index.ts";
import { describeIssues } from "../run-start/index.ts";
import { readJsonObject } from "./start-as-caller.ts";
import { startOrResume, streamChoice } from "./start-or-resume.ts";
import type { StreamKit } from "./stream-kit.ts";

/** An id as projects and conversations take them: 1-64 characters of `[A-Za-z0-9_.-]`. */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A chat message to the project's agent, as the project chat's client sends it: the POST
 * body, or for GET (EventSource) the query parameters of the same names.
 * - `message`: the user's text, 1..8,000 characters after trimming (the run's question);
 * - `project_id`: optional in the body, and then equal to the path's `{projectId}`;
 * - `conversation_id`: optional, links runs as turns of one conversation.
 */
export const ChatRequestSchema = z.strictObject({
  message: z
    .string({
      error: (issue) => (issue.input === undefined ? "message is required" : "message must be a string"),
    })
    .trim()
    .min(1, "message must not be empty")
    .max(8000, "message must be at most 8000 characters"),
  project_id: z.string().optional(),
  conversation_id: z
    .string()
    .regex(ID, "conversation_id must be 1-64 characters of A-Z a-z 0-9 _ . -")
    .optional(),
});

/**
 * The run a chat request starts: the message as its question, in the path's project (whose
 * memories the run loads and adds to), in the conversation if one is named.
 * @throws HttpError 400 `invalid_request` naming the field (`message`, `project_id`,
 *   `conversation_id`; `projectId` for a malformed path segment).
 */
function chatRun(projectId: string, raw: unknown) {
  const parsed = ChatRequestSchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  const { message, project_id, conversation_id } = parsed.data;
  if (!ID.test(projectId)) {
    throw new HttpError(
      400,
      "invalid_request",
      "projectId: projectId must be 1-64 characters of A-Z a-z 0-9 _ . -",
    );
  }
  if (project_id !== undefined && project_id !== projectId) {
    throw new HttpError(400, "invalid_request", "project_id: project_id must be the project in the path");
  }
  return { question: message, projectId, ...(conversation_id ? { conversationId: conversation_id } : {}) };
}

/** The GET form's chat request: `message` and `conversation_id` from the query (other parameters are the stream's). */
function queryRequest(c: Context<AppEnv>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const name of ["message", "conversation_id"]) {
    const value = c.req.query(name);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

/**
 * `/projects/{projectId}/chat-stream` (the project chat's streaming API, docs/origins.md seed
 * 003): POST with a JSON body `{ message, project_id?, conversation_id? }`, or GET with
 * `?message=` (EventSource), starts a run of the message in that project as the caller and
 * streams it on the same response in the `project-chat` format (progress per step,
 * heartbeats, then `complete` with the answer or `error`). Query: `format`, `types`, `flush`,
 * checked before the message. A request with `Last-Event-ID` (EventSource reconnecting to the
 * same URL) starts nothing: it resumes the run this request started (see startOrResume).
 */
export function registerChatStream(app: Hono<AppEnv>, kit: StreamKit): void {
  const path = "/projects/:projectId/chat-stream";
  app.post(path, authenticate(kit.deps.auth), limitBody(), async (c) => {
    const choice = streamChoice(c, kit, "project-chat");
    return startOrResume(c, kit, chatRun(c.req.param("projectId"), await readJsonObject(c)), choice);
  });
  app.get(path, authenticate(kit.deps.auth), async (c) => {
    const choice = streamChoice(c, kit, "project-chat");
    return startOrResume(c, kit, chatRun(c.req.param("projectId"), queryRequest(c)), choice);
  });
}
