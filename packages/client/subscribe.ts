import { type EventSourceMessage, EventSourceParserStream } from "eventsource-parser/stream";
import { HeartbeatSchema, isTerminalType, type RunEvent, RunEventSchema } from "../events/index.ts";
import { RETRYABLE_STATUSES, retryDelayMs, sleep } from "./backoff.ts";
import { StagecastApiError, StagecastConnectionError, StagecastProtocolError } from "./errors.ts";
import { apiError } from "./http.ts";
import type { SubscribeOptions } from "./types.ts";

/** A stream token and when it expires (ms since epoch; undefined = unknown). */
export interface StreamToken {
  token: string | undefined;
  expiresAtMs?: number;
}

/** What a subscription needs from the client it belongs to. */
export interface SubscriptionDeps {
  fetch: typeof fetch;
  /** The run's stream URL without query (…/runs/{runId}/stream). */
  streamUrl: string;
  /** A fresh stream token for the run (POST /runs/{runId}/stream-token); `token` undefined when auth is off. */
  newToken(signal?: AbortSignal): Promise<StreamToken>;
  /** A token the client already holds (from startRun), used before asking for a new one. */
  cachedToken?: StreamToken;
  /** First reconnect delay (ms), doubled per consecutive failure up to `maxDelayMs`, with jitter. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failed connections before giving up with StagecastConnectionError. */
  maxRetries: number;
}

/** Token refresh this long before its expiry (ms), so a reconnect never presents a token about to lapse. */
const TOKEN_SKEW_MS = 30_000;

/**
 * The reconnecting SSE subscription behind `client.subscribe` (WHATWG HTML §9.2 semantics,
 * over fetch so it runs in Node and browsers and can read statuses EventSource hides):
 * - resumes with `?after=<last delivered seq>`, and drops any event at or below it, so a
 *   reconnect neither loses nor repeats an event;
 * - waits the server's `retry:` hint after a clean end, and an exponential backoff (with
 *   jitter) after a failure; a stream that opened resets the failure count;
 * - a 401 gets one new stream token per failure (expired or rotated); 204 means the log
 *   ended at or before the cursor; other 4xx end the subscription with StagecastApiError;
 * - ends after the terminal event, or quietly when `signal` aborts.
 */
export async function* subscription(
  deps: SubscriptionDeps,
  options: SubscribeOptions = {},
): AsyncGenerator<RunEvent> {
  const { signal } = options;
  let last = options.after ?? 0;
  let token = deps.cachedToken;
  let failures = 0;
  let retryMs = deps.initialDelayMs;
  let lastError: unknown;
  let refreshed = false;
  const state = (s: "connecting" | "open" | "reconnecting") => options.onState?.(s, failures);
  state("connecting");
  while (!signal?.aborted) {
    if (failures > deps.maxRetries) {
      throw new StagecastConnectionError(`could not reconnect after ${deps.maxRetries} attempts`, {
        cause: lastError,
      });
    }
    let delivered = false;
    try {
      if (!token || (token.expiresAtMs !== undefined && token.expiresAtMs - TOKEN_SKEW_MS <= Date.now())) {
        token = await deps.newToken(signal);
      }
      const url = new URL(deps.streamUrl);
      url.searchParams.set("after", String(last));
      if (token.token) url.searchParams.set("token", token.token);
      if (options.types?.length) url.searchParams.set("types", options.types.join(","));
      const res = await deps.fetch(url, {
        headers: { accept: "text/event-stream" },
        ...(signal ? { signal } : {}),
      });
      if (res.status === 204) return;
      if (res.status === 401) {
        // Expired or rotated: ask for a new one once; a 401 right after a refresh is a real refusal.
        const refusal = await apiError(res);
        if (refreshed) throw refusal;
        refreshed = true;
        token = undefined;
        continue;
      }
      if (!res.ok || !res.body) {
        const err = await apiError(res);
        if (!RETRYABLE_STATUSES.has(res.status)) throw err;
        throw Object.assign(err, { retryable: true });
      }
      // An open stream is a successful connection, whatever it then carries (a filtered or
      // quiet run may send no event before the server's deadline ends it).
      refreshed = false;
      failures = 0;
      state("open");
      const frames = res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (retryMs = ms) }));
      for await (const frame of iterate(frames)) {
        if (signal?.aborted) return;
        // The run ended at or before our cursor: nothing will follow (docs/api.md, `ended`).
        if (frame.event === "ended") return;
        const event = parseFrame(frame, options);
        if (!event || event.seq <= last) continue;
        last = event.seq;
        delivered = true;
        failures = 0;
        yield event;
        if (isTerminalType(event.type)) return;
      }
      // A clean end without the terminal event (the server's `reconnect` frame: its deadline or
      // size cap). Resume after its retry: hint.
      state("reconnecting");
      await sleep(retryMs, signal);
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof StagecastProtocolError) throw err;
      if (err instanceof StagecastApiError && !(err as { retryable?: boolean }).retryable) throw err;
      lastError = err;
      if (!delivered) failures++;
      state("reconnecting");
      await sleep(retryDelayMs(failures, err, deps), signal);
    }
  }
}

/** The frames of a ReadableStream (Safari has no async iteration of streams yet). */
async function* iterate<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** A frame as a stored event; heartbeats go to `onHeartbeat`; snapshots and other frames are skipped. */
function parseFrame(frame: EventSourceMessage, options: SubscribeOptions): RunEvent | undefined {
  if (frame.event === "heartbeat") {
    const beat = HeartbeatSchema.safeParse(safeJson(frame.data));
    if (beat.success) options.onHeartbeat?.(beat.data);
    return undefined;
  }
  if (frame.event === "snapshot" || frame.id === undefined) return undefined;
  const parsed = RunEventSchema.safeParse(safeJson(frame.data));
  if (!parsed.success) {
    throw new StagecastProtocolError(
      `event ${frame.id} (${frame.event ?? "message"}) does not match the event schema`,
    );
  }
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
