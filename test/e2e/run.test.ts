import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminalType, type RunEvent, RunEventSchema } from "../../packages/events/index.ts";
import { DEFAULT_STAGES as STAGES } from "../support/agents.ts";
import { readSse } from "../support/sse.ts";
import { startRun, startTestStack } from "../support/stack.ts";

let stack: Awaited<ReturnType<typeof startTestStack>>;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Watch a run with the `eventsource` package (a WHATWG EventSource for Node) until its terminal event. */
function watchWithEventSource(
  streamUrl: string,
): Promise<{ events: RunEvent[]; ids: string[]; heartbeats: number }> {
  return new Promise((resolve, reject) => {
    const es = new EventSource(streamUrl);
    const events: RunEvent[] = [];
    const ids: string[] = [];
    let heartbeats = 0;
    const timer = setTimeout(() => {
      es.close();
      reject(new Error(`no terminal event; got ${events.map((e) => e.type).join(",")}`));
    }, 25_000);
    const types = RunEventSchema.options.map((o) => o.shape.type.value);
    for (const type of types) {
      es.addEventListener(type, (m) => {
        events.push(RunEventSchema.parse(JSON.parse(m.data)));
        ids.push(m.lastEventId);
        if (isTerminalType(type)) {
          clearTimeout(timer);
          es.close();
          resolve({ events, ids, heartbeats });
        }
      });
    }
    es.addEventListener("heartbeat", () => {
      heartbeats++;
    });
  });
}

async function countItems(): Promise<number> {
  const out = await stack.store.table.client.send(
    new ScanCommand({ TableName: stack.store.table.tableName, Select: "COUNT" }),
  );
  return out.Count ?? 0;
}

describe("one run end to end on the local stack", () => {
  it("streams every stage in order, with a dense seq, one terminal event and the answer as llm.delta", async () => {
    const started = await startRun(stack.url, {
      question: "How do I stream progress from Lambda to a browser?",
    });
    expect(started.runId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(started.links.stream).toBe(`${stack.url}/runs/${started.runId}/stream`);

    const { events, ids } = await watchWithEventSource(started.links.stream);

    // seq = 1..N, no gap or repeat, and it is the SSE id.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(ids).toEqual(events.map((e) => String(e.seq)));
    expect(events.every((e) => e.runId === started.runId)).toBe(true);

    expect(events[0]?.type).toBe("run.queued");
    expect(events[1]?.type).toBe("run.started");
    const stageStarts = events.filter((e) => e.type === "stage.started").map((e) => e.stage);
    expect(stageStarts).toEqual([...STAGES]);
    for (const stage of STAGES) {
      const own = events.filter((e) => e.stage === stage);
      expect(own[0]?.type).toBe("stage.started");
      expect(own.at(-1)?.type).toBe("stage.completed");
      expect(own.some((e) => e.type === "stage.progress" && e.message.length > 0)).toBe(true);
    }

    const terminals = events.filter((e) => isTerminalType(e.type));
    expect(terminals).toHaveLength(1);
    const last = events.at(-1);
    expect(last?.type).toBe("run.completed");

    const progress = events.map((e) => e.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(last?.progress).toBe(100);

    const deltas = events.filter((e) => e.type === "llm.delta");
    expect(deltas.length).toBeGreaterThan(2); // streamed in pieces, not all at once
    expect(deltas.every((d) => d.stage === "execution")).toBe(true);
    const text = deltas.map((d) => (d.type === "llm.delta" ? d.data.text : "")).join("");
    if (last?.type !== "run.completed") throw new Error("unreachable");
    expect(last.data.answer).toBe(text);
    expect(last.data.answer).toContain("How do I stream progress from Lambda to a browser?");
    expect(last.data.models).toEqual(["offline"]);
    expect(last.data.usage.completionTokens).toBeGreaterThan(0);

    const status = await (await fetch(started.links.self)).json();
    expect(status).toMatchObject({
      runId: started.runId,
      status: "completed",
      progress: 100,
      lastSeq: events.length,
    });
    expect(status.answer).toBe(text);
  });

  it("sends the answer while it is being written, before the run ends", async () => {
    const started = await startRun(stack.url, { question: "Explain event sourcing briefly" });
    const { frames } = await readSse(started.links.stream);
    const firstDelta = frames.find((f) => f.event === "llm.delta");
    const completed = frames.find((f) => f.event === "run.completed");
    if (!firstDelta || !completed) throw new Error("missing frames");
    // ~90 tokens at 300 tokens/s: the first piece reaches the client well before the end.
    expect(completed.at - firstDelta.at).toBeGreaterThanOrEqual(100);
    const deltaTimes = frames.filter((f) => f.event === "llm.delta").map((f) => f.at);
    expect(new Set(deltaTimes).size).toBeGreaterThan(1);
  });

  it("resumes with Last-Event-ID after a dropped connection: the two parts equal one uninterrupted stream", async () => {
    const started = await startRun(stack.url, { question: "What makes a stream resumable?" });
    const k = 7;
    const first = await readSse(started.links.stream, { stopAfter: (f) => f.length === k });
    expect(first.ended).toBe(false);
    expect(first.frames.map((f) => f.id)).toEqual(["1", "2", "3", "4", "5", "6", "7"]);

    const second = await readSse(started.links.stream, { headers: { "last-event-id": String(k) } });
    expect(second.ended).toBe(true);
    const whole = await readSse(started.links.stream);
    const joined = [...first.frames, ...second.frames].map(({ id, event, data }) => ({ id, event, data }));
    expect(joined).toEqual(whole.frames.map(({ id, event, data }) => ({ id, event, data })));
    expect(whole.frames.at(-1)?.event).toBe("run.completed");

    // ?after=N resumes the same way; Last-Event-ID wins when both are given.
    const viaQuery = await readSse(`${started.links.stream}?after=${k}`);
    expect(viaQuery.frames.map((f) => f.id)).toEqual(second.frames.map((f) => f.id));
    const both = await readSse(`${started.links.stream}?after=2`, { headers: { "last-event-id": "5" } });
    expect(both.frames[0]?.id).toBe("6");

    // Resuming at the terminal event: nothing more will come, 204 tells EventSource to stop.
    const lastId = whole.frames.at(-1)?.id ?? "";
    const after = await fetch(started.links.stream, { headers: { "last-event-id": lastId } });
    expect(after.status).toBe(204);
  });

  it("resumes from the live tail with ?from=latest: a snapshot first, then only newer events", async () => {
    const started = await startRun(stack.url, { question: "Where is the live tail?" });
    // Wait until the run is somewhere in the middle.
    for (let i = 0; i < 200; i++) {
      const { events } = await stack.store.events.read(started.runId, 0, 1000);
      if (events.length >= 8) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const tail = await readSse(`${started.links.stream}?from=latest`);
    const [snapshot, ...rest] = tail.frames;
    expect(snapshot?.event).toBe("snapshot");
    const state = JSON.parse(snapshot?.data ?? "{}");
    expect(state).toMatchObject({ runId: started.runId, question: "Where is the live tail?" });
    expect(snapshot?.id).toBe(String(state.lastSeq));
    expect(state.lastSeq).toBeGreaterThanOrEqual(8);
    expect(rest[0]?.id).toBe(String(state.lastSeq + 1));
    const whole = await readSse(started.links.stream);
    expect(rest.map((f) => f.data)).toEqual(whole.frames.slice(state.lastSeq).map((f) => f.data));

    // On an ended run: the snapshot, then the terminal event, then the end.
    const ended = await readSse(`${started.links.stream}?from=latest`);
    expect(ended.frames.map((f) => f.event)).toEqual(["snapshot", "run.completed"]);
    expect(JSON.parse(ended.frames[0]?.data ?? "{}").status).toBe("completed");
    expect((await fetch(`${started.links.stream}?from=earliest`)).status).toBe(400);
  });

  it("gives several watchers of one run the same full stream", async () => {
    const started = await startRun(stack.url, { question: "Can many clients watch one run?" });
    const watchers = await Promise.all([1, 2, 3].map(() => readSse(started.links.stream)));
    const shapes = watchers.map((w) => w.frames.map(({ id, event, data }) => ({ id, event, data })));
    expect(shapes[0]?.at(-1)?.event).toBe("run.completed");
    expect(shapes[1]).toEqual(shapes[0]);
    expect(shapes[2]).toEqual(shapes[0]);
  });

  it("sends no-buffering headers and opens the stream at once", async () => {
    const started = await startRun(stack.url, { question: "Headers?" });
    const res = await readSse(started.links.stream);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    expect(res.comments[0]).toContain("stream");
  });

  it("pages events as JSON for clients that cannot stream", async () => {
    const started = await startRun(stack.url, { question: "Polling fallback?" });
    await readSse(started.links.stream); // wait for the end
    const all: RunEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await (await fetch(`${started.links.events}?after=${after}&limit=5`)).json();
      all.push(...page.events);
      after = page.nextAfter;
      if (!page.hasMore && page.events.length < 5) break;
    }
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)?.type).toBe("run.completed");
    // A page holding the terminal event, and an empty page past it, both say the log ended.
    const last = await (await fetch(`${started.links.events}?after=${all.length - 1}`)).json();
    expect([last.events.length, last.ended]).toEqual([1, true]);
    const past = await (await fetch(`${started.links.events}?after=${all.length}`)).json();
    expect([past.events.length, past.ended]).toEqual([0, true]);
    const before = await (await fetch(`${started.links.events}?after=0&limit=2`)).json();
    expect(before.ended).toBe(false);
  });
});

describe("bad requests", () => {
  const post = (body: string, contentType = "application/json") =>
    fetch(`${stack.url}/runs`, { method: "POST", headers: { "content-type": contentType }, body });

  it.each([
    ["invalid JSON", "{bad", 400, "invalid_json"],
    ["missing question", "{}", 400, "invalid_request"],
    ["empty question", '{"question":"   "}', 400, "invalid_request"],
    ["question not a string", '{"question":42}', 400, "invalid_request"],
    ["unknown field", '{"question":"hi","qestion":"typo"}', 400, "invalid_request"],
    ["bad projectId", '{"question":"hi","projectId":"../etc"}', 400, "invalid_request"],
    ["too long", JSON.stringify({ question: "x".repeat(8001) }), 400, "invalid_request"],
    ["body too large", JSON.stringify({ question: "x".repeat(70_000) }), 413, "payload_too_large"],
  ])("%s → %i %s and nothing is written", async (_name, body, status, code) => {
    const before = await countItems();
    const res = await post(body);
    expect(res.status).toBe(status);
    const json = await res.json();
    expect(json.error.code).toBe(code);
    expect(typeof json.error.message).toBe("string");
    expect(json.error.requestId).toBeTruthy();
    expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(await countItems()).toBe(before);
  });

  it("refuses a body that is not JSON with 415", async () => {
    const res = await post("question=hi", "application/x-www-form-urlencoded");
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe("unsupported_media_type");
  });

  it("answers 400 for a malformed run id or cursor and 404 for an unknown run", async () => {
    expect((await fetch(`${stack.url}/runs/not-a-ulid`)).status).toBe(400);
    expect((await fetch(`${stack.url}/runs/01M7Z3AYGVMJPM6ANRF6QTT349`)).status).toBe(404);
    expect((await fetch(`${stack.url}/runs/01M7Z3AYGVMJPM6ANRF6QTT349/stream`)).status).toBe(404);
    const started = await startRun(stack.url, { question: "cursor" });
    for (const bad of ["-1", "abc", "1.5", "99999999999"]) {
      const res = await fetch(`${started.links.stream}?after=${bad}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe("invalid_cursor");
    }
    const res = await fetch(started.links.stream, { headers: { "last-event-id": "x" } });
    expect(res.status).toBe(400);
    expect((await fetch(`${started.links.events}?limit=0`)).status).toBe(400);
    await readSse(started.links.stream);
  });
});
