import { EVENT_TYPES, TERMINAL_TYPES } from "../events/index.ts";

/**
 * The minimal page served at `/`: start a run, watch its events arrive over EventSource,
 * see the answer grow. It proves the stream works in a real browser; the full web client is
 * a separate piece of work. Self-contained (no CDN): inline CSS and script carrying the
 * Content-Security-Policy nonce. Model text is only ever set with textContent, never as HTML.
 * @param nonce the CSP nonce of this response.
 * @param token a development token to prefill (local stack with a generated secret only).
 */
export function pageHtml(nonce: string, token = ""): string {
  return PAGE_TEMPLATE.replaceAll("__NONCE__", nonce).replace("__TOKEN__", escapeAttribute(token));
}

const escapeAttribute = (s: string) => s.replace(/[&"<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);

const PAGE_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stagecast</title>
<style nonce="__NONCE__">
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
  textarea { width: 100%; min-height: 4rem; font: inherit; }
  progress { width: 100%; height: 1rem; }
  #answer { white-space: pre-wrap; background: #f5f5f4; padding: .75rem; border-radius: 6px; min-height: 2rem; }
  #events { font: 12px/1.4 ui-monospace, monospace; max-height: 22rem; overflow: auto; list-style: none; padding-left: 0; }
  .row { display: flex; gap: .5rem; align-items: center; margin: .5rem 0; }
</style>
</head>
<body>
<h1>Stagecast</h1>
<form id="ask">
  <label for="question">Question</label>
  <textarea id="question" name="question" required>How do Step Functions and Lambda stream progress to a browser?</textarea>
  <div class="row">
    <label for="project">Project (optional)</label> <input id="project" name="project" pattern="[A-Za-z0-9_.-]{1,64}">
    <label for="token">Token</label> <input id="token" name="token" type="password" autocomplete="off" value="__TOKEN__">
    <button type="submit" id="start">Start run</button>
  </div>
</form>
<p id="status" aria-live="polite">Idle.</p>
<progress id="progress" max="100" value="0" aria-label="Run progress"></progress>
<h2>Answer</h2>
<div id="answer" aria-live="polite"></div>
<h2>Events</h2>
<ul id="events"></ul>
<script type="module" nonce="__NONCE__">
const TYPES = ${JSON.stringify(EVENT_TYPES)};
const TERMINAL = ${JSON.stringify(TERMINAL_TYPES)};
const $ = (id) => document.getElementById(id);
let source;
$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  source?.close();
  $("answer").textContent = ""; $("events").textContent = ""; $("progress").value = 0;
  const body = { question: $("question").value };
  if ($("project").value) body.projectId = $("project").value;
  const headers = { "content-type": "application/json" };
  if ($("token").value) headers.authorization = "Bearer " + $("token").value;
  const res = await fetch("runs", { method: "POST", headers, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) { $("status").textContent = "Error: " + json.error.message; return; }
  $("status").textContent = "Run " + json.runId + " queued.";
  document.body.dataset.runId = json.runId;
  source = new EventSource(json.links.stream);
  for (const type of TYPES) source.addEventListener(type, (m) => {
    const ev = JSON.parse(m.data);
    const li = document.createElement("li");
    li.textContent = ev.seq + " " + ev.type + (ev.stage ? " [" + ev.stage + "]" : "") + " " + ev.message;
    li.dataset.type = ev.type;
    $("events").append(li);
    $("progress").value = ev.progress;
    $("status").textContent = ev.message;
    // A retried execution writes the answer again from the start: drop the partial one.
    if (ev.type === "stage.retrying" && ev.stage === "execution") $("answer").textContent = "";
    if (ev.type === "llm.delta") $("answer").textContent += ev.data.text;
    if (TERMINAL.includes(ev.type)) { source.close(); document.body.dataset.done = ev.type; }
  });
  source.addEventListener("heartbeat", (m) => {
    const beat = JSON.parse(m.data);
    $("status").textContent = "Working… " + Math.round(beat.elapsedMs / 1000) + " s" + (beat.stage ? " (" + beat.stage + ")" : "");
  });
});
</script>
</body>
</html>
`;
