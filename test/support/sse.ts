import { createParser, type EventSourceMessage } from "eventsource-parser";

/** A frame as a client saw it, with the time it arrived (ms since epoch). */
export interface Frame extends EventSourceMessage {
  at: number;
}

/** A raw SSE comment line (": ..."), kept to check the stream opens at once. */
export interface ReadResult {
  status: number;
  headers: Headers;
  frames: Frame[];
  comments: string[];
  /** Whether the server ended the stream (false when we stopped reading). */
  ended: boolean;
}

/**
 * Read an SSE response over real HTTP (fetch) with a real SSE parser (eventsource-parser),
 * until the server ends it or `stopAfter(frames)` says to drop the connection.
 */
export async function readSse(
  url: string,
  options: {
    headers?: Record<string, string>;
    stopAfter?: (frames: Frame[]) => boolean;
    timeoutMs?: number;
  } = {},
): Promise<ReadResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 20_000);
  const frames: Frame[] = [];
  const comments: string[] = [];
  try {
    const res = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal });
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
      return { status: res.status, headers: res.headers, frames, comments, ended: true };
    }
    let stop = false;
    const parser = createParser({
      onEvent: (e) => {
        if (stop) return;
        frames.push({ ...e, at: Date.now() });
        if (options.stopAfter?.(frames)) stop = true;
      },
      onComment: (c) => comments.push(c),
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { status: res.status, headers: res.headers, frames, comments, ended: true };
      parser.feed(value);
      if (stop) {
        controller.abort();
        return { status: res.status, headers: res.headers, frames, comments, ended: false };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
