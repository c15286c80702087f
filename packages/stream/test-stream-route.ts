import type { Hono } from "hono";
import { ulid } from "ulid";
import { isTerminalType, sseBytes, sseComment } from "../events/index.ts";
import type { AppEnv } from "../http/index.ts";
import { flushWrite } from "./flush.ts";
import { type Frame, type StreamFormat, type StreamFormatName, streamFormat } from "./stream-format.ts";
import type { StreamKit } from "./stream-kit.ts";
import { SYNTHETIC_EVENT_GAP_MS, syntheticRun } from "./synthetic-run.ts";
import { parseTypeFilter } from "./type-filter.ts";

/**
 * GET /test-stream (docs/origins.md): a ~2 s synthetic run, nothing stored, no model, no
 * auth; a reconnect (Last-Event-ID) gets 204 so an EventSource stops.
 */
export function registerTestStream(app: Hono<AppEnv>, kit: StreamKit): void {
  const { deps, flushOf, respond } = kit;
  const { settings } = deps;
  app.get("/test-stream", (c) => {
    // Every request is a new synthetic run: an EventSource that reconnects after the end (as
    // it does after any 200) is told to stop instead of being served the run again.
    if (c.req.header("last-event-id") !== undefined) return c.body(null, 204);
    const flush = flushOf(c);
    const format: StreamFormat = streamFormat(c.req.query("format"), "autogen" satisfies StreamFormatName);
    const filter = parseTypeFilter(c.req.query("types"), format.types);
    return respond(c, async (stream) => {
      const runId = ulid();
      const events = syntheticRun(runId, Date.now());
      await stream.write(sseComment(`test stream ${runId}: synthetic, nothing stored, no model`));
      const session = format.open({ runId, after: 0 });
      const write = async (frames: readonly Frame[]) => {
        let bytes = 0;
        for (const frame of frames) {
          if (typeof frame === "string") await stream.write(frame);
          else await stream.writeSSE(frame);
          bytes += typeof frame === "string" ? Buffer.byteLength(frame) : sseBytes(frame);
        }
        return bytes;
      };
      await write(session.opening({ runId, elapsedMs: 0, progress: 0, lastSeq: 0 }, settings.retryMs));
      for (const event of events) {
        if (stream.aborted) return;
        if (isTerminalType(event.type) || !filter || filter(format.typeOf(event))) {
          const bytes = await write(session.frames(event));
          const extra = bytes > 0 ? flushWrite(flush, settings.padBytes, bytes) : undefined;
          if (extra) await stream.write(extra);
        }
        if (!isTerminalType(event.type)) await stream.sleep(SYNTHETIC_EVENT_GAP_MS);
      }
    });
  });
}
