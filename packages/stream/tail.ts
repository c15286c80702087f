import type { SSEStreamingApi } from "hono/streaming";
import {
  isTerminalType,
  type Reconnect,
  type RunEvent,
  type SseMessage,
  sseBytes,
  sseComment,
} from "../events/index.ts";
import type { LogFn } from "../observability/index.ts";
import type { Store } from "../store/index.ts";
import { type FlushStrategy, flushWrite } from "./flush.ts";
import type { Frame, StreamFormat } from "./stream-format.ts";
import type { TailHub } from "./tail-hub.ts";
import type { TypeFilter } from "./type-filter.ts";

/**
 * How much before `heartbeatMs` a heartbeat is sent (ms): timers fire late, and the interval
 * is a promise of at most `heartbeatMs` of silence (clients' read timeouts are set from it).
 */
const HEARTBEAT_EARLY_MS = 50;

/** Events read per store query while tailing (the page also stops at DynamoDB's 1 MB cap). */
const TAIL_PAGE = 100;

/** Poll, heartbeat and size settings of a tail (ms, except `padBytes` and `maxBytes` in bytes). */
export interface TailSettings {
  pollMinMs: number;
  pollMaxMs: number;
  /** How long polling stays at `pollMinMs` after the newest event (see TailHub). */
  pollHoldMs: number;
  heartbeatMs: number;
  retryMs: number;
  padBytes: number;
  maxBytes: number;
}

/** One tail of one run's log onto one open SSE response. */
export interface Tail {
  store: Store;
  settings: TailSettings;
  runId: string;
  /** Send events with seq greater than this. */
  after: number;
  /**
   * The run's last seq when the stream opened (0 before any event). A cursor above it is
   * ahead of the log; the shared poller never starts past it (see TailHub).
   */
  logEnd: number;
  /** When the run was created (ms since epoch), for the heartbeat's `elapsedMs`. */
  createdMs: number;
  /** When the tail must end, with a `reconnect` frame (ms since epoch). */
  deadline: number;
  format: StreamFormat;
  /** The process's shared poller (one store read per interval per run, whatever the watchers). */
  hub: TailHub;
  /** Only events whose type passes are sent; terminal events always are. */
  filter?: TypeFilter;
  flush: FlushStrategy;
  /** Frames to send right after the opening comment (the `from=latest` snapshot). */
  opening?: SseMessage[];
  /** Stage and progress the first heartbeat reports before any event was read. */
  newest?: Pick<RunEvent, "stage" | "progress">;
  log: LogFn;
}

/**
 * Tail a run's log onto `stream` until its terminal event, the deadline, the size cap
 * (Lambda caps a streamed response) or the client leaving. Framing (docs/api.md):
 * - opens with a comment line and the format's opening frame, which carries `retry:` (so even
 *   an abrupt drop reconnects after `retryMs`), then the `from=latest` snapshot if any;
 * - events after the cursor, from the store first, then from the shared {@link TailHub}
 *   (`pollMinMs` during activity and `pollHoldMs` after it, doubling to `pollMaxMs`);
 * - a heartbeat after at most `heartbeatMs` of silence, and every `tickMs` for a ticking format;
 * - ends after the terminal event; a stream whose cursor is already past it (ahead of the
 *   log) gets one `ended` frame instead; one that must close before the run's end (deadline,
 *   size cap, store error: the status line is already sent) gets a `reconnect` frame that
 *   says where to resume.
 */
export async function tailRun(stream: SSEStreamingApi, tail: Tail): Promise<void> {
  const { store, settings, runId, format, filter } = tail;
  let cursor = tail.after;
  let newest = tail.newest;
  const opened = Date.now();
  const heartbeatDue = Math.max(1, settings.heartbeatMs - HEARTBEAT_EARLY_MS);
  let lastWrite = opened;
  // A ticking format (StreamFormat.tickMs) also beats on a fixed schedule from the opening.
  const tickMs = Math.max(1, format.tickMs ?? Number.POSITIVE_INFINITY);
  let nextTick = opened + tickMs;
  const beatAt = () => Math.min(lastWrite + heartbeatDue, nextTick);
  let batchBytes = 0;
  let sent = 0;
  const session = format.open({ runId, after: cursor });
  const send = async (message: Frame) => {
    if (typeof message === "string") await stream.write(message);
    else await stream.writeSSE(message);
    const bytes = typeof message === "string" ? Buffer.byteLength(message) : sseBytes(message);
    batchBytes += bytes;
    sent += bytes;
  };
  const endBatch = async () => {
    const extra = flushWrite(tail.flush, settings.padBytes, batchBytes);
    if (extra) {
      await stream.write(extra);
      sent += extra.length;
    }
    batchBytes = 0;
  };
  const beat = (now: number) => ({
    runId,
    elapsedMs: Math.max(0, now - tail.createdMs),
    ...(newest?.stage === undefined ? {} : { stage: newest.stage }),
    progress: newest?.progress ?? 0,
    lastSeq: cursor,
  });
  // Write at once: the Lambda runtime sends status and headers only with the first byte.
  await send(sseComment(`stream ${runId} after ${cursor}`));
  const sendAll = async (frames: readonly Frame[]) => {
    for (const frame of frames) await send(frame);
  };
  await sendAll(session.opening(beat(opened), settings.retryMs));
  for (const frame of tail.opening ?? []) await send(frame);
  await endBatch();
  let reason: Reconnect["reason"] = "deadline";
  // Catch up from the store first; then wait on the hub, which reads once for every stream of
  // the run in this process, and read directly again only when the hub says we are behind.
  let direct = true;
  const aborted = new AbortController();
  stream.onAbort(() => aborted.abort());
  try {
    while (!stream.aborted) {
      let events: RunEvent[];
      let more = false;
      if (direct) {
        const page = await store.events.read(runId, cursor, TAIL_PAGE);
        events = page.events;
        more = page.hasMore;
      } else {
        const now = Date.now();
        const wait = Math.max(1, Math.min(beatAt(), tail.deadline) - now);
        const next = await tail.hub.next(runId, cursor, wait, aborted.signal, tail.logEnd);
        if (next.ended) {
          await sendAll(session.ended({ runId, lastSeq: next.ended.seq, terminal: next.ended.type }));
          await endBatch();
          return;
        }
        events = next.events;
        more = next.behind;
      }
      direct = more;
      let ended = false;
      let wrote = false;
      for (const event of events) {
        if (event.seq <= cursor) continue;
        cursor = event.seq;
        newest = event;
        ended = isTerminalType(event.type);
        if (ended || !filter || filter(format.typeOf(event))) {
          const frames = session.frames(event);
          await sendAll(frames);
          if (frames.length > 0) wrote = true;
        }
        if (ended) break;
      }
      const now = Date.now();
      if (wrote) {
        await endBatch();
        lastWrite = now;
      }
      if (ended) return;
      if (now >= beatAt()) {
        await sendAll(session.heartbeat(beat(now)));
        await endBatch();
        lastWrite = now;
        while (nextTick <= now) nextTick += tickMs;
      }
      // A Lambda streamed response is capped in size: end before it, the client resumes.
      if (sent >= settings.maxBytes) reason = "max_bytes";
      if (now >= tail.deadline || sent >= settings.maxBytes) break;
    }
  } catch (err) {
    reason = "error";
    tail.log({
      level: "warn",
      msg: "stream tail failed; asking the client to reconnect",
      runId,
      error: String(err),
    });
  }
  if (stream.aborted) return;
  await sendAll(session.reconnect({ runId, lastSeq: cursor, retryMs: settings.retryMs, reason }));
  await endBatch();
}
