/** A chat message as the chat-completions API carries it (text content only). */
export interface ChatMessage {
  role: string;
  content: string;
}

const STOPWORDS = new Set(
  "a an and are as at be but by can could do does for from how i in is it me my of on or please should so tell that the this to was we what when where which who why will with would you your".split(
    " ",
  ),
);

/** Up to `n` content words of `text`, longest first (ties in order of appearance), lower-cased. */
export function keywords(text: string, n: number): string[] {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []).filter(
    (w) => !STOPWORDS.has(w),
  );
  const unique = [...new Set(words)];
  return unique
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w.length - a.w.length || a.i - b.i)
    .slice(0, n)
    .map((x) => x.w);
}

/** The original request inside a stage's user message (after "Request:" when present). */
function requestOf(user: string): string {
  const line = user.split("\n").find((l) => l.startsWith("Request: "));
  return (line ? line.slice("Request: ".length) : (user.split("\n\n")[0] ?? user)).trim();
}

function intentOf(request: string): string {
  if (/\d\s*[-+*/^]\s*\d/.test(request)) return "calculate";
  if (/^\s*(how|why|explain)\b/i.test(request)) return "explain";
  if (/^\s*(what|who|when|where|which|is|are|does|do|can)\b/i.test(request)) return "question";
  if (/^\s*(write|draft|create|make|build|generate)\b/i.test(request)) return "create";
  return "task";
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The embedded offline model's reply: a deterministic function of the prompt (same messages,
 * same text), shaped by which instruction the system message carries, so every stage gets an
 * answer of the form it asks for. It is a stand-in that makes the pipeline observable with no
 * network; it does not reason.
 */
export function respond(messages: readonly ChatMessage[]): string {
  const system = messages
    .filter((m) => m.role === "system")
    .map((m) => m.content)
    .join("\n");
  const user = messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
  const request = requestOf(user);
  const [k1 = "the subject", k2 = k1, k3 = k2] = keywords(request, 3);
  if (/\bclassify\b/i.test(system))
    return `${intentOf(request)}; ${[k1, k2, k3].filter((v, i, a) => a.indexOf(v) === i).join(", ")}`;
  if (/\bwrite a plan\b/i.test(system)) {
    return [
      `1. Restate the request: "${clip(request, 80)}"`,
      `2. Gather the key facts about ${k1}`,
      `3. Relate ${k2} to ${k3} step by step`,
      "4. Write a concise answer",
    ].join("\n");
  }
  if (/\bsummari[sz]e\b/i.test(system))
    return `Asked about ${k1} and ${k2}; answered with a ${intentOf(request)} reply.`;
  const steps = user
    .split("\n")
    .filter((l) => /^\d+\.\s/.test(l))
    .map((l) => l.replace(/^\d+\.\s*/, ""));
  return [
    `You asked: "${clip(request, 200)}".`,
    `Intent: ${intentOf(request)}; topic: ${k1}${k2 !== k1 ? ` and ${k2}` : ""}.`,
    steps.length
      ? `I followed ${steps.length} steps: ${steps.map((s) => s.replace(/[.:]$/, "")).join("; ")}.`
      : "",
    `On ${k1}: the offline model cannot look anything up, so it answers from the words of the request alone.`,
    "This answer was written by Stagecast's embedded offline model (model id `offline`),",
    "a deterministic stand-in used when no OPENAI_BASE_URL or OPENAI_API_KEY is set;",
    "point those variables at OpenAI, Ollama, vLLM or LiteLLM for real answers.",
  ]
    .filter(Boolean)
    .join(" ");
}

/** Split text into model-like tokens: each word with its leading whitespace. Joining them gives the text back. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Rough prompt token count (words), for the usage object. */
export function countTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + (m.content.match(/\S+/g)?.length ?? 0), 0);
}
