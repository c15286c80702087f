// Follow a Stagecast run with EventSource `onmessage` only, using ?format=message (docs/client.md).
const TERMINAL = new Set(["run.completed", "run.failed", "run.cancelled", "run.timed_out"]);
const CONTROL = new Set(["heartbeat", "reconnect", "ended", "snapshot"]);

/**
 * Follow a run's stream to its end with a single `onmessage` handler. `format=message` sends
 * every frame without an `event:` name; each frame's JSON says what it is in `type`.
 * @param {string} url the stream URL (`links.stream`), with its `?token=` when auth is on.
 * @param {{ onEvent: (event: object) => void, onControl?: (type: string, data: object) => void }} handlers
 * @returns {Promise<object | null>} the terminal event; null when the run had already ended.
 */
export function followRun(url, { onEvent, onControl = () => {} }) {
  const address = new URL(url, location.href);
  address.searchParams.set("format", "message");
  return new Promise((resolve) => {
    const source = new EventSource(address);
    source.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (CONTROL.has(data.type)) {
        onControl(data.type, data);
        if (data.type === "ended") {
          source.close();
          resolve(null);
        }
        return;
      }
      onEvent(data);
      if (TERMINAL.has(data.type)) {
        source.close();
        resolve(data);
      }
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) resolve(null); // 204, or an HTTP error
    };
  });
}
