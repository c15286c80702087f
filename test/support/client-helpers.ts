import { expect } from "vitest";
import { isTerminalType, type RunEvent } from "../../packages/events/index.ts";

/** One request a {@link recordingFetch} passed on, and what came back. */
export interface RecordedCall {
  url: URL;
  method: string;
  /** The response status (undefined while pending or when the fetch itself failed). */
  status?: number;
}

/** Where a request goes: the stream, the stream-token route, or any other API route. */
export const isStreamCall = (c: RecordedCall) => c.url.pathname.endsWith("/stream");
export const isTokenCall = (c: RecordedCall) => c.url.pathname.endsWith("/stream-token");

/**
 * A fetch for the client's `fetch` option that records every request and lets a test
 * rewrite the request (`before`) or the response (`after`) of each call. `index` counts the
 * calls of the same kind (stream / stream-token / other) so far, from 0.
 */
export function recordingFetch(
  hooks: {
    before?: (call: RecordedCall, index: number) => URL | undefined;
    after?: (call: RecordedCall, res: Response, index: number) => Response | Promise<Response>;
  } = {},
): { fetch: typeof fetch; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const kind = (c: RecordedCall) => (isStreamCall(c) ? "stream" : isTokenCall(c) ? "token" : "other");
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const call: RecordedCall = { url, method: init?.method ?? "GET" };
    const index = calls.filter((c) => kind(c) === kind(call)).length;
    calls.push(call);
    const target = hooks.before?.(call, index) ?? url;
    call.url = target;
    const res = await globalThis.fetch(target, init);
    call.status = res.status;
    return hooks.after ? hooks.after(call, res, index) : res;
  };
  return { fetch: wrapped as typeof fetch, calls };
}

/**
 * `body` passed through until `events` SSE event frames (blocks with an `id:` line) went by;
 * then half of the next frame, and the stream errors as a reset connection would.
 * `onCut` is called when (and only when) the cut happened.
 */
export function cutAfterEvents(
  body: ReadableStream<Uint8Array>,
  events: number,
  onCut: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          pending += decoder.decode();
          if (pending) controller.enqueue(encoder.encode(pending));
          controller.close();
          return;
        }
        pending += decoder.decode(value, { stream: true });
        let out = "";
        let end = pending.indexOf("\n\n");
        while (end !== -1) {
          const block = pending.slice(0, end);
          if (seen === events) {
            controller.enqueue(encoder.encode(out + block.slice(0, Math.floor(block.length / 2))));
            await reader.cancel().catch(() => undefined);
            onCut();
            controller.error(new TypeError("terminated: connection reset by the test"));
            return;
          }
          out += `${block}\n\n`;
          if (/^id:/m.test(block)) seen++;
          pending = pending.slice(end + 2);
          end = pending.indexOf("\n\n");
        }
        if (out) {
          controller.enqueue(encoder.encode(out));
          return;
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Every event of an async iterable, in order. */
export async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** seq is 1..N with no gap or repeat, and exactly one terminal event, the last one. */
export function expectWholeLog(events: RunEvent[], runId: string): void {
  expect(events.length).toBeGreaterThan(0);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.every((e) => e.runId === runId)).toBe(true);
  const terminals = events.filter((e) => isTerminalType(e.type));
  expect(terminals).toHaveLength(1);
  expect(isTerminalType(events.at(-1)?.type ?? "")).toBe(true);
}

/** The llm.delta text of execution's last attempt (what the answer must equal). */
export function finalAttemptText(events: RunEvent[]): string {
  const lastAttempt = Math.max(
    0,
    ...events.filter((e) => e.stage === "execution").map((e) => e.attempt ?? 0),
  );
  return events
    .filter((e) => e.type === "llm.delta" && e.stage === "execution" && (e.attempt ?? 0) === lastAttempt)
    .map((e) => (e.type === "llm.delta" ? e.data.text : ""))
    .join("");
}
