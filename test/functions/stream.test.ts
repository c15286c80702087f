import type { EventSourceMessage } from "eventsource-parser";
import { createParser } from "eventsource-parser";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../packages/events/index.ts";
import { PAD_OVER } from "../../packages/stream/flush.ts";
import {
  HANDLER_STREAMING,
  HTTP_INTEGRATION_CONTENT_TYPE,
  invokeStreaming,
  type RecordedChunk,
  type StreamingResult,
  startStreaming,
} from "../support/awslambda.ts";
import { functionUrlEvent, lambdaContext } from "../support/lambda-events.ts";
import {
  allEvents,
  appendAll,
  type Functions,
  lifecycle,
  loadFunctions,
  OWNER,
  seedRun,
  streamTokens,
  tokens,
  UNSET,
  useLambdaFunctions,
  waitFor,
} from "../support/lambda-functions.ts";

useLambdaFunctions();

/**
 * The frames of a stream body, its opening frame (a heartbeat carrying `retry:`) apart:
 * `retries` are the `retry:` values after the opening one, i.e. the closing `reconnect` hint.
 */
function parseSse(body: string) {
  const frames: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  let openingRetry: number | undefined;
  const parser = createParser({
    onEvent: (e) => frames.push(e),
    onComment: (c) => comments.push(c),
    // The retry line precedes its frame's dispatch: with no frame yet, it is the opening's.
    onRetry: (r) => {
      if (frames.length === 0) openingRetry = r;
      else retries.push(r);
    },
  });
  parser.feed(body);
  const opening = frames.shift();
  expect(opening?.event).toBe("heartbeat");
  expect(opening?.id).toBeUndefined();
  expect(openingRetry).toEqual(expect.any(Number));
  return { frames, comments, retries, opening };
}

/** A Function URL GET of the run's stream, carrying its stream token (query) unless `token: null`. */
const streamRequest = (
  runId: string,
  options: { headers?: Record<string, string>; query?: string; token?: string | null } = {},
) => {
  const token = options.token === undefined ? tokens.get(runId) : options.token;
  const query = [options.query, token ? `token=${token}` : undefined].filter(Boolean).join("&");
  return functionUrlEvent({
    method: "GET",
    path: `/runs/${runId}/stream`,
    ...(query ? { query } : {}),
    headers: { ...options.headers },
  });
};

const text = (c: RecordedChunk) => c.data.toString("utf8");
/** A chunk holding (part of) an SSE frame: it has a field line. */
const isFrameChunk = (c: RecordedChunk) => /^(data|event|id):/m.test(text(c));
/** A chunk of SSE comment lines only. */
const isCommentChunk = (c: RecordedChunk) =>
  text(c)
    .split("\n")
    .every((line) => line === "" || line.startsWith(":"));

function expectEventStreamPrelude(result: StreamingResult) {
  expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
  const prelude = result.prelude;
  expect(prelude?.statusCode).toBe(200);
  const headers = prelude?.headers ?? {};
  for (const name of Object.keys(headers)) expect(name).toBe(name.toLowerCase());
  expect(headers["content-type"]).toBe("text/event-stream");
  expect(headers["cache-control"]).toBe("no-cache, no-transform");
  expect(headers["x-accel-buffering"]).toBe("no");
  // Transport headers must not reach the Function URL prelude: the front end frames the stream itself.
  expect(headers).not.toHaveProperty("transfer-encoding");
  expect(headers).not.toHaveProperty("connection");
}

function expectFrames(frames: EventSourceMessage[], events: RunEvent[]) {
  expect(frames.map((f) => f.id)).toEqual(events.map((e) => String(e.seq)));
  expect(frames.map((f) => f.event)).toEqual(events.map((e) => e.type));
  expect(frames.map((f) => JSON.parse(f.data))).toEqual(events);
}

describe("functions/stream.ts (Function URL, RESPONSE_STREAM, via the awslambda runtime)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions();
  });

  it("is a streaming handler as the runtime sees it", () => {
    expect((fns.stream as Record<symbol, unknown>)[HANDLER_STREAMING]).toBe("response");
  });

  it("replays a finished run as SSE behind an http-integration prelude and ends the response stream", async () => {
    const runId = await seedRun();
    const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
    expect(stored.at(-1)?.type).toBe("run.completed");

    const inv = startStreaming(fns.stream, streamRequest(runId));
    const result = await inv.done;
    expectEventStreamPrelude(result);
    const { frames, comments, retries } = parseSse(result.body);
    expectFrames(frames, stored);
    expect(frames.at(-1)?.event).toBe("run.completed");
    // It ended because of the terminal event, not at its deadline (which sends a `retry:` hint).
    expect(retries).toEqual([]);
    expect(result.body.endsWith(`id: ${stored.at(-1)?.seq}\n\n`)).toBe(true);
    // The stream opens with a comment at once: status and headers do not wait for the first event.
    expect(result.bodyChunks[0] && isCommentChunk(result.bodyChunks[0])).toBe(true);
    expect(comments[0]).toContain(runId);
    // Without STREAM_PAD_BYTES there is no padding: no comment beyond the opening one.
    expect(comments).toHaveLength(1);
    expect(result.bodyChunks.every((c) => c.data.length < 4096)).toBe(true);
    expect(result.ended).toBe(true);
    expect(inv.stream.endCalls).toBeGreaterThanOrEqual(1);
  });

  it("resumes after Last-Event-ID, after ?after=, and prefers the header over the query", async () => {
    const runId = await seedRun();
    const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];

    const byHeader = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": "2" } }),
    );
    expectEventStreamPrelude(byHeader);
    const headerFrames = parseSse(byHeader.body).frames;
    expect(headerFrames[0]?.id).toBe("3");
    expectFrames(headerFrames, stored.slice(2));

    const byQuery = await invokeStreaming(fns.stream, streamRequest(runId, { query: "after=4" }));
    expectFrames(parseSse(byQuery.body).frames, stored.slice(4));

    const both = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": "5" }, query: "after=1" }),
    );
    expectFrames(parseSse(both.body).frames, stored.slice(5));
  });

  it("answers 204 with an empty body to a resume at the terminal event", async () => {
    const runId = await seedRun();
    const stored = await appendAll(runId, lifecycle(runId));
    const last = String(stored.at(-1)?.seq);
    const result = await invokeStreaming(
      fns.stream,
      streamRequest(runId, { headers: { "last-event-id": last } }),
    );
    expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
    expect(result.prelude?.statusCode).toBe(204);
    expect(result.body).toBe("");
    expect(result.ended).toBe(true);
  });

  it("answers 400 with a JSON error for a malformed ?after= and for a malformed Last-Event-ID", async () => {
    const runId = await seedRun();
    for (const req of [
      streamRequest(runId, { query: "after=abc" }),
      streamRequest(runId, { headers: { "last-event-id": "-1" } }),
    ]) {
      const result = await invokeStreaming(fns.stream, req);
      expect(result.contentType).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
      expect(result.prelude?.statusCode).toBe(400);
      expect(result.prelude?.headers["content-type"]).toMatch(/^application\/json/);
      const body = JSON.parse(result.body) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code).toBe("invalid_cursor");
      expect(body.error.requestId).toEqual(expect.any(String));
      expect(result.body).not.toContain("data:");
      expect(result.ended).toBe(true);
    }
  });

  it("answers 401 with a JSON error before any SSE byte without a valid stream token", async () => {
    const runId = await seedRun();
    for (const token of [null, "not-a-jwt", (await streamTokens.mint(ulid(), OWNER)).token]) {
      const res = await invokeStreaming(fns.stream, streamRequest(runId, { token }));
      expect(res.prelude?.statusCode).toBe(401);
      expect(res.prelude?.headers?.["content-type"]).toMatch(/^application\/json/);
      expect(res.body).not.toContain("event:");
      expect(["missing_token", "invalid_token"]).toContain(JSON.parse(res.body).error.code);
    }
  });

  it("answers 404 for an unknown run and 400 for a run id that is not a ULID", async () => {
    const unknownId = ulid();
    const token = (await streamTokens.mint(unknownId, OWNER)).token;
    const unknown = await invokeStreaming(fns.stream, streamRequest(unknownId, { token }));
    expect(unknown.prelude?.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: "run_not_found" } });
    expect(unknown.ended).toBe(true);

    const invalid = await invokeStreaming(fns.stream, streamRequest("not-a-run"));
    expect(invalid.prelude?.statusCode).toBe(400);
    expect(JSON.parse(invalid.body)).toMatchObject({ error: { code: "invalid_run_id" } });
  });

  it("tails a live run: events appended while the invocation runs all arrive, in order, and the stream ends after the terminal one", async () => {
    const runId = await seedRun();
    const inv = startStreaming(fns.stream, streamRequest(runId));
    // The prelude and the opening comment are out before anything else happens in the run.
    await waitFor(() => inv.stream.chunks.length >= 3, "the stream to open");
    await waitFor(() => inv.stream.bytes().includes('"type":"run.queued"'), "run.queued to be streamed");
    expect(inv.stream.ended).toBe(false);

    const [first, ...rest] = lifecycle(runId);
    const appended: RunEvent[] = [];
    await new Promise((r) => setTimeout(r, 100));
    appended.push(...(await appendAll(runId, first ? [first] : [])));
    await waitFor(() => inv.stream.bytes().includes('"type":"run.started"'), "run.started to be streamed");
    expect(inv.stream.ended).toBe(false);
    appended.push(...(await appendAll(runId, rest)));

    const result = await inv.done;
    expectEventStreamPrelude(result);
    const stored = await allEvents(runId);
    expect(stored).toHaveLength(1 + appended.length);
    const { frames, retries } = parseSse(result.body);
    expectFrames(frames, stored);
    expect(retries).toEqual([]);
    expect(result.ended).toBe(true);
  });
});

describe("functions/stream.ts flush strategies at the adapter boundary", () => {
  const PAD = 4096;
  /** Frames (stored events with `id:`, or heartbeats) — everything that is not a comment or a retry hint. */
  const isFrame = (c: RecordedChunk | undefined) => c !== undefined && isFrameChunk(c);

  /**
   * Split the body's chunks (what the runtime hands the front end, write by write) into batches:
   * the opening comment, then each run of frame chunks; return each batch with the chunk that
   * follows it (undefined at the end).
   */
  function batches(chunks: RecordedChunk[]): Array<{ bytes: number; after: RecordedChunk | undefined }> {
    const out: Array<{ bytes: number; after: RecordedChunk | undefined }> = [];
    const first = chunks[0];
    expect(first && isCommentChunk(first)).toBe(true);
    // The opening batch: the comment and the opening frame (a heartbeat carrying `retry:`).
    let opened = 1;
    let openingBytes = first?.data.length ?? 0;
    while (isFrame(chunks[opened])) openingBytes += (chunks[opened++] as RecordedChunk).data.length;
    expect(opened).toBeGreaterThan(1);
    out.push({ bytes: openingBytes, after: chunks[opened] });
    chunks.forEach((chunk, i) => {
      if (i < opened || !isFrame(chunk)) return;
      const start = i > opened && isFrame(chunks[i - 1]) ? -1 : i;
      if (start === -1) return;
      let j = i;
      let bytes = 0;
      while (isFrame(chunks[j])) bytes += (chunks[j++] as RecordedChunk).data.length;
      out.push({ bytes, after: chunks[j] });
    });
    return out;
  }

  describe("pad (STREAM_FLUSH=pad, STREAM_PAD_BYTES=4096)", () => {
    let fns: Functions;
    beforeAll(async () => {
      fns = await loadFunctions({
        STREAM_FLUSH: "pad",
        STREAM_PAD_BYTES: String(PAD),
        STREAM_HEARTBEAT_MS: "100",
      });
    });

    /** Every batch is followed at once by a comment chunk that brings it up to at least PAD bytes. */
    function expectPaddedBatches(bodyChunks: RecordedChunk[]) {
      const all = batches(bodyChunks);
      for (const b of all) {
        expect(b.after && isCommentChunk(b.after)).toBe(true);
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeGreaterThanOrEqual(PAD);
        // "up to": the padding is no larger than it needs to be.
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeLessThanOrEqual(
          Math.max(PAD, b.bytes) + PAD_OVER + 8,
        );
      }
      return all.length;
    }

    it("pads after the replay batch of a finished run, and the padding does not disturb the frames", async () => {
      const runId = await seedRun();
      const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      expectEventStreamPrelude(result);
      expectPaddedBatches(result.bodyChunks);
      const { frames } = parseSse(result.body);
      expectFrames(frames, stored);
      expect(result.ended).toBe(true);
    });

    it("pads after every live batch and every heartbeat while tailing", async () => {
      const runId = await seedRun();
      const inv = startStreaming(fns.stream, streamRequest(runId));
      // The opening frame is a heartbeat too: wait for one sent after it, while idle.
      await waitFor(
        () => inv.stream.bytes().toString("utf8").split("event: heartbeat").length > 2,
        "a heartbeat frame after the opening one",
      );
      const events = lifecycle(runId);
      await appendAll(runId, events.slice(0, 2));
      await waitFor(() => inv.stream.bytes().includes('"type":"stage.started"'), "the first live batch");
      await appendAll(runId, events.slice(2));

      const result = await inv.done;
      expectEventStreamPrelude(result);
      const batches = expectPaddedBatches(result.bodyChunks);
      // run.queued (replay), at least one heartbeat, and the two live bursts were separate writes.
      expect(batches).toBeGreaterThanOrEqual(3);
      const { frames } = parseSse(result.body);
      const stored = await allEvents(runId);
      expectFrames(
        frames.filter((f) => f.event !== "heartbeat"),
        stored,
      );
      const beat = frames.find((f) => f.event === "heartbeat");
      expect(beat?.id).toBeUndefined();
      expect(JSON.parse(beat?.data ?? "{}")).toMatchObject({ runId, lastSeq: 1 });
      // Ended by the terminal event (a deadline close would add a `retry:` hint).
      expect(frames.at(-1)?.event).toBe("run.completed");
      expect(parseSse(result.body).retries).toEqual([]);
      expect(result.ended).toBe(true);
    });
  });

  describe("trailer (STREAM_FLUSH=trailer)", () => {
    it("follows every batch with a separate 2-byte comment line and nothing else", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: "trailer" });
      const runId = await seedRun();
      const stored = [...(await allEvents(runId)), ...(await appendAll(runId, lifecycle(runId)))];
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      const all = batches(result.bodyChunks);
      expect(all.length).toBeGreaterThanOrEqual(2);
      for (const b of all) expect(b.after ? text(b.after) : undefined).toBe(":\n");
      expectFrames(parseSse(result.body).frames, stored);
    });
  });

  describe("off (STREAM_FLUSH=off)", () => {
    it("writes frames only: no comment after the opening one", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: "off" });
      const runId = await seedRun();
      await appendAll(runId, lifecycle(runId));
      const result = await invokeStreaming(fns.stream, streamRequest(runId));
      expect(result.bodyChunks.slice(1).some((c) => isCommentChunk(c))).toBe(false);
    });
  });

  describe("default on Lambda (STREAM_FLUSH unset)", () => {
    it("is pad to 16 KiB, and ?flush= picks another strategy per stream", async () => {
      const fns = await loadFunctions({ STREAM_FLUSH: UNSET });
      const runId = await seedRun();
      await appendAll(runId, lifecycle(runId));
      const padded = await invokeStreaming(fns.stream, streamRequest(runId));
      for (const b of batches(padded.bodyChunks)) {
        expect(b.bytes + (b.after?.data.length ?? 0)).toBeGreaterThanOrEqual(16_384);
      }
      const trailer = await invokeStreaming(fns.stream, streamRequest(runId, { query: "flush=trailer" }));
      for (const b of batches(trailer.bodyChunks)) expect(b.after ? text(b.after) : undefined).toBe(":\n");
      const bad = await invokeStreaming(fns.stream, streamRequest(runId, { query: "flush=sometimes" }));
      expect(bad.prelude?.statusCode).toBe(400);
    });
  });
});

describe("functions/stream.ts deadline (STREAM_MAX_DURATION_MS)", () => {
  let fns: Functions;
  beforeAll(async () => {
    fns = await loadFunctions({ STREAM_MAX_DURATION_MS: "1000", STREAM_RETRY_MS: "2500" });
  });

  it("closes a stream on a run that does not end with a retry hint, ending the response so the client resumes", async () => {
    const runId = await seedRun();
    const result = await invokeStreaming(fns.stream, streamRequest(runId));
    expectEventStreamPrelude(result);
    const { frames, retries } = parseSse(result.body);
    expect(frames.filter((f) => f.id !== undefined).map((f) => f.event)).toEqual(["run.queued"]);
    expect(retries).toEqual([2500]);
    expect(result.body.endsWith("retry: 2500\n\n")).toBe(true);
    expect(result.ended).toBe(true);
    // The run itself is untouched: closing a stream is not ending a run.
    expect((await allEvents(runId)).map((e) => e.type)).toEqual(["run.queued"]);
  });
});

describe("functions/stream.ts deadline from the Lambda context", () => {
  let fns: Functions;
  beforeAll(async () => {
    // A long configured maximum: only the invocation's own time limit can end this stream.
    fns = await loadFunctions({ STREAM_MAX_DURATION_MS: "600000", STREAM_RETRY_MS: "1500" });
  });

  it("ends before getRemainingTimeInMillis runs out, with a retry hint, when the function timeout is below the setting", async () => {
    const runId = await seedRun();
    const started = Date.now();
    // 3 s left in this invocation: the stream must close about 2 s (DEADLINE_MARGIN_MS) before that.
    const result = await invokeStreaming(fns.stream, streamRequest(runId), lambdaContext({}, 3000));
    expect(Date.now() - started).toBeLessThan(3000);
    expectEventStreamPrelude(result);
    expect(parseSse(result.body).retries).toEqual([1500]);
    expect(result.ended).toBe(true);
  });
});
