// Follow a Stagecast run in a browser with EventSource and named events (docs/client.md).
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
 * Follow a run's stream (`links.stream` of POST /runs) to its end. EventSource reconnects by
 * itself after the server closes the stream (a `reconnect` frame) or the network drops, waits
 * the server's `retry:`, and resumes with Last-Event-ID: no event is lost or repeated.
 * @param {string} url the stream URL, with its `?token=` when auth is on.
 * @param {{ onEvent: (event: object) => void, onControl?: (type: string, data: object) => void }} handlers
 * @returns {Promise<object | null>} the terminal event; null when the run had already ended.
 */
export function followRun(url, { onEvent, onControl = () => {} }) {
  return new Promise((resolve) => {
    const source = new EventSource(url);
    // Named events reach only their own listeners, never onmessage: one listener per type.
    for (const type of TYPES) {
      source.addEventListener(type, (message) => {
        const event = JSON.parse(message.data);
        onEvent(event);
        if (TERMINAL.has(type)) {
          source.close(); // left open, EventSource would reconnect once more and get 204
          resolve(event);
        }
      });
    }
    // Not stored, no id: heartbeat (every 2.5 s of silence), reconnect (the server is about
    // to close; EventSource resumes by itself), ended (the cursor was past the run's end).
    for (const type of ["heartbeat", "reconnect", "ended"]) {
      source.addEventListener(type, (message) => {
        onControl(type, JSON.parse(message.data));
        if (type === "ended") {
          source.close();
          resolve(null);
        }
      });
    }
    source.onerror = () => {
      // CONNECTING: a drop or a close, EventSource retries by itself. CLOSED: it stopped for
      // good: 204 (nothing left after the cursor) or an HTTP error (401: mint a new stream
      // token and follow again from the last seq; 404).
      if (source.readyState === EventSource.CLOSED) resolve(null);
    };
  });
}
