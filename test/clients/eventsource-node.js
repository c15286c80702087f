// Follow a Stagecast run from Node with the `eventsource` package, v4 (docs/client.md).
import { EventSource } from "eventsource";

const TYPES = [
  "run.queued",
  "run.started",
  "stage.started",
  "stage.progress",
  "llm.delta",
  "tool.started",
  "tool.completed",
  "stage.completed",
  "stage.retrying",
  "run.completed",
  "run.failed",
  "run.cancelled",
  "run.timed_out",
];
const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled", "run.timed_out"]);

/**
 * Follow a run's stream to its end. Like a browser's EventSource, it reconnects by itself
 * after the server closes or the network drops, waits the server's `retry:` and resumes with
 * Last-Event-ID; it stops for good on a 204.
 * @param {string} url the stream URL (`links.stream`), with its `?token=` when auth is on.
 * @param {{ onEvent: (event: object) => void, onControl?: (type: string, data: object) => void }} handlers
 * @param {import("eventsource").EventSourceInit} [init] e.g. `{ fetch }` to add headers.
 * @returns {Promise<object | null>} the terminal event; null when the run had already ended.
 */
export function followRun(url, { onEvent, onControl = () => {} }, init = {}) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url, init);
    for (const type of TYPES) {
      source.addEventListener(type, (message) => {
        const event = JSON.parse(message.data);
        onEvent(event);
        if (TERMINAL.has(type)) {
          source.close();
          resolve(event);
        }
      });
    }
    for (const type of ["heartbeat", "reconnect", "ended"]) {
      source.addEventListener(type, (message) => {
        onControl(type, JSON.parse(message.data));
        if (type === "ended") {
          source.close();
          resolve(null);
        }
      });
    }
    source.onerror = (error) => {
      if (source.readyState !== EventSource.CLOSED) return; // it reconnects by itself
      // 204: nothing after the cursor, the run had ended. Anything else: 401 (mint a new
      // stream token and follow again after the last seq), 404.
      if (error.code === 204) resolve(null);
      else reject(new Error(`stream answered ${error.code}: ${error.message}`));
    };
  });
}
