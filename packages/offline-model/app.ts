import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { countTokens, respond, tokenize } from "./responder.ts";

/** The id the embedded model reports (shown in run.completed `models`). */
export const OFFLINE_MODEL_ID = "offline";

/** Options of {@link createOfflineModelApp}. */
export interface OfflineModelOptions {
  /** Generation speed (tokens per second); 0 or less means as fast as possible. Default 30. */
  tokensPerSecond?: number;
}

const ChatRequestSchema = z.object({
  model: z.string().optional(),
  messages: z
    .array(
      z.object({
        role: z.string(),
        content: z.union([z.string(), z.array(z.object({ text: z.string().optional() }).loose()), z.null()]),
      }),
    )
    .min(1),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An OpenAI-compatible chat-completions server (the subset the agent uses): POST
 * /v1/chat/completions, streaming (SSE `data:` chunks ending with `data: [DONE]`, usage chunk
 * when `stream_options.include_usage`) and non-streaming, and GET /v1/models. Answers are
 * deterministic (see respond) and paced at `tokensPerSecond`, so progress is visible.
 */
export function createOfflineModelApp(options: OfflineModelOptions = {}): Hono {
  const rate = options.tokensPerSecond ?? 30;
  const gapMs = rate > 0 ? 1000 / rate : 0;
  const app = new Hono();

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: OFFLINE_MODEL_ID, object: "model", created: 0, owned_by: "stagecast" }],
    }),
  );

  app.post("/v1/chat/completions", async (c) => {
    const parsed = ChatRequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return c.json(
        { error: { message: "invalid chat completion request", type: "invalid_request_error" } },
        400,
      );
    }
    const req = parsed.data;
    const messages = req.messages.map((m) => ({
      role: m.role,
      content:
        typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text ?? "").join(""),
    }));
    const limit = req.max_completion_tokens ?? req.max_tokens ?? Number.POSITIVE_INFINITY;
    const full = tokenize(respond(messages));
    const tokens = full.slice(0, limit);
    const usage = {
      prompt_tokens: countTokens(messages),
      completion_tokens: tokens.length,
      total_tokens: countTokens(messages) + tokens.length,
    };
    const id = `chatcmpl-offline-${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = tokens.length < full.length ? "length" : "stop";

    if (!req.stream) {
      await sleep(gapMs * tokens.length);
      return c.json({
        id,
        object: "chat.completion",
        created,
        model: OFFLINE_MODEL_ID,
        choices: [
          { index: 0, message: { role: "assistant", content: tokens.join("") }, finish_reason: finish },
        ],
        usage,
      });
    }
    return streamSSE(c, async (stream) => {
      const chunk = (delta: Record<string, string>, finishReason: string | null) =>
        JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created,
          model: OFFLINE_MODEL_ID,
          choices: [{ index: 0, delta, finish_reason: finishReason }],
        });
      await stream.writeSSE({ data: chunk({ role: "assistant", content: "" }, null) });
      const start = Date.now();
      for (const [i, token] of tokens.entries()) {
        if (stream.aborted) return;
        const due = start + (i + 1) * gapMs - Date.now();
        if (due > 0) await sleep(due);
        await stream.writeSSE({ data: chunk({ content: token }, null) });
      }
      await stream.writeSSE({ data: chunk({}, finish) });
      if (req.stream_options?.include_usage) {
        await stream.writeSSE({
          data: JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created,
            model: OFFLINE_MODEL_ID,
            choices: [],
            usage,
          }),
        });
      }
      await stream.writeSSE({ data: "[DONE]" });
    });
  });
  return app;
}
