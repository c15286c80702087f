/**
 * The project chat's frontend API service (frontend/src/services/api.ts in that project's
 * write-up, docs/origins.md seed 003), as far as the write-up gives it: the URL
 * `${API_BASE_URL}/projects/${request.project_id}/chat-stream`, the request sent as JSON, the
 * frames read from `data:` lines and parsed as JSON, dispatched on `type` (progress,
 * heartbeat, the final response, errors), "proper handling for heartbeat messages, connection
 * timeouts, SSE parsing errors", and an EventSource variant for the page. Adapted only in the
 * base URL (an argument), an optional `Authorization` header, and skipping lines that are not
 * `data:` lines. Run by test/e2e/seed-clients.test.ts against the local stack.
 */

/** What the frontend sends: the project, the user's message, optionally the conversation. */
export interface ChatRequest {
  project_id: string;
  message: string;
  conversation_id?: string;
}

/** One step of the agent's work, as the backend's progress callback built it. */
export interface ProgressUpdate {
  step: string;
  message: string;
  details: string;
  timestamp: string;
  metadata: Record<string, unknown>;
}

/** A frame's JSON: `type` and the fields of that type. */
export interface ChatStreamFrame {
  type: string;
  progress?: ProgressUpdate;
  response?: string;
  error?: string;
  [field: string]: unknown;
}

/** What the UI does with the stream (the chat page's callbacks). */
export interface ChatStreamHandlers {
  onProgress(update: ProgressUpdate): void;
  onHeartbeat?(frame: ChatStreamFrame): void;
  onComplete(response: string, frame: ChatStreamFrame): void;
  onError(error: string, frame?: ChatStreamFrame): void;
  /** A `data:` line that was not JSON: logged and skipped, the stream goes on. */
  onParseError?(line: string): void;
}

/** Where the API is and how to call it (the adaptations: host, port, auth). */
export interface ApiOptions {
  baseUrl: string;
  headers?: Record<string, string>;
  /** Give up after this long without any frame, heartbeats included (ms). */
  timeoutMs?: number;
}

/** Dispatch one parsed frame to the handlers; true when the stream is over (complete or error). */
export function dispatchFrame(frame: ChatStreamFrame, handlers: ChatStreamHandlers): boolean {
  switch (frame.type) {
    case "heartbeat":
      handlers.onHeartbeat?.(frame);
      return false;
    case "progress":
      if (frame.progress) handlers.onProgress(frame.progress);
      return false;
    case "complete":
      handlers.onComplete(String(frame.response ?? ""), frame);
      return true;
    case "error":
      handlers.onError(String(frame.error ?? "Unknown error"), frame);
      return true;
    default:
      return false;
  }
}

/** Parse one `data:` line's JSON, reporting a parse error instead of throwing. */
function parseLine(line: string, handlers: ChatStreamHandlers): ChatStreamFrame | undefined {
  try {
    return JSON.parse(line.slice(6)) as ChatStreamFrame;
  } catch {
    handlers.onParseError?.(line);
    return undefined;
  }
}

/**
 * Send a message and follow its progress: POST the request as JSON to the project's
 * chat-stream, read the response body line by line, parse each `data:` line and dispatch it.
 * A connection that sends nothing for `timeoutMs` (30 s by default) is aborted and reported
 * through `onError`; so is an HTTP error status.
 * @returns when the stream has ended (after `complete` or `error`, or when the server closed it).
 */
export async function sendMessageStream(
  request: ChatRequest,
  handlers: ChatStreamHandlers,
  options: ApiOptions,
): Promise<void> {
  const url = `${options.baseUrl}/projects/${request.project_id}/chat-stream`;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
  };
  arm();
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...options.headers },
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    if (!response.ok || !response.body) {
      handlers.onError(`HTTP ${response.status}: ${await response.text()}`);
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      arm();
      buffer += value;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data: ")) continue;
        const frame = parseLine(line, handlers);
        if (frame && dispatchFrame(frame, handlers)) return;
      }
    }
  } catch (err) {
    handlers.onError(
      controller.signal.aborted ? "Connection timed out." : `Connection failed: ${String(err)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The EventSource constructor the page uses (the browser's; `eventsource`'s in Node). */
export type EventSourceClass = new (url: string) => EventSource;

/**
 * The page's EventSource variant: GET the project's chat-stream with the message in the query,
 * dispatch each message's JSON, and close the source after `complete` or `error` (an
 * EventSource would otherwise reconnect after the server closes). A source the browser
 * closed for good (an error status) is reported through `onError`.
 * @returns the EventSource, for the caller to close early.
 */
export function openChatEventSource(
  request: ChatRequest,
  handlers: ChatStreamHandlers,
  options: { baseUrl: string; EventSource: EventSourceClass },
): EventSource {
  const query = new URLSearchParams({ message: request.message });
  if (request.conversation_id) query.set("conversation_id", request.conversation_id);
  const source = new options.EventSource(
    `${options.baseUrl}/projects/${request.project_id}/chat-stream?${query}`,
  );
  source.onmessage = (event: MessageEvent<string>) => {
    const frame = parseLine(`data: ${event.data}`, handlers);
    if (frame && dispatchFrame(frame, handlers)) source.close();
  };
  source.onerror = () => {
    if (source.readyState === source.CLOSED) handlers.onError("The stream was closed.");
  };
  return source;
}
