// Follow a Stagecast run with @microsoft/fetch-event-source (docs/client.md).
import { fetchEventSource } from "@microsoft/fetch-event-source";

const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled", "run.timed_out"]);
const CONTROL = new Set(["heartbeat", "reconnect", "ended", "snapshot"]);
/** Thrown by onclose: the server closed before the run's end, so open the stream again. */
class Resume extends Error {}

/**
 * Follow a run's stream to its end. fetchEventSource's defaults are not enough: it resolves
 * when the server closes (the stream's deadline) and retries a 204 forever. Here onclose
 * throws to reconnect; the library then sends the last `id:` as Last-Event-ID and waits the
 * server's `retry:`. The terminal event, `ended` or a 204 stop it.
 * @param {string} url the stream URL (`links.stream`), with its `?token=` when auth is on.
 * @param {{ onEvent: (event: object) => void, onControl?: (type: string, data: object) => void,
 *   headers?: Record<string, string>, signal?: AbortSignal }} options
 * @returns {Promise<object | null>} the terminal event; null when the run had already ended.
 */
export async function followRun(url, { onEvent, onControl = () => {}, headers = {}, signal }) {
  const stop = new AbortController();
  signal?.addEventListener("abort", () => stop.abort());
  let terminal = null;
  await fetchEventSource(url, {
    headers, // e.g. { Authorization: `Bearer ${streamToken}` } instead of ?token=
    signal: stop.signal, // aborting resolves fetchEventSource's promise
    openWhenHidden: true, // the default closes the stream while the tab is hidden
    async onopen(response) {
      if (response.status === 204) return stop.abort(); // the run ended at or before the cursor
      const type = response.headers.get("content-type") ?? "";
      if (!response.ok || !type.startsWith("text/event-stream")) {
        throw new Error(`stream answered ${response.status}`); // rethrown by onerror: rejects
      }
    },
    onmessage(message) {
      const data = JSON.parse(message.data);
      if (CONTROL.has(message.event)) {
        onControl(message.event, data);
        if (message.event === "ended") stop.abort();
        return;
      }
      onEvent(data);
      if (TERMINAL.has(data.type)) {
        terminal = data;
        stop.abort();
      }
    },
    onclose() {
      throw new Resume("the server closed the stream before the run's end");
    },
    onerror(error) {
      // Reconnect after the server's retry: on a close or a network failure (fetch throws a
      // TypeError); anything else (a 401 or 404 from onopen, a bad frame) ends it.
      if (error instanceof Resume || error instanceof TypeError) return;
      throw error;
    },
  });
  return terminal;
}
