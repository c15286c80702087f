import { createParser, type EventSourceMessage } from "eventsource-parser";

/** A frame as a client saw it, with the time it arrived (ms since epoch). */
export interface Frame extends EventSourceMessage {
  at: number;
}

/** A raw SSE comment line (": ..."), kept to check the stream opens at once. */
export interface ReadResult {
  status: number;
  headers: Headers;
  /** The frames after the opening one. */
  frames: Frame[];
  /**
   * The stream's opening frame when it is a named one (a `heartbeat` carrying `retry:`; AutoGen
   * format streams open with a comment instead), kept apart so tests compare the frames after it.
   */
  opening?: Frame;
  /** Every `retry:` value the server sent, in order (the opening one first). */
  retries: number[];
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
  const retries: number[] = [];
  let opening: Frame | undefined;
  const result = (ended: boolean, res: Response): ReadResult => ({
    status: res.status,
    headers: res.headers,
    frames,
    ...(opening ? { opening } : {}),
    retries,
    comments,
    ended,
  });
  try {
    const res = await fetch(url, { headers: options.headers ?? {}, signal: controller.signal });
    if (!res.body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
      return result(true, res);
    }
    let stop = false;
    let first = true;
    const parser = createParser({
      onEvent: (e) => {
        if (stop) return;
        const frame = { ...e, at: Date.now() };
        const isOpening = first && e.event === "heartbeat" && retries.length === 1;
        first = false;
        if (isOpening) {
          opening = frame;
          return;
        }
        frames.push(frame);
        if (options.stopAfter?.(frames)) stop = true;
      },
      onComment: (c) => comments.push(c),
      onRetry: (r) => retries.push(r),
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return result(true, res);
      parser.feed(value);
      if (stop) {
        controller.abort();
        return result(false, res);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
