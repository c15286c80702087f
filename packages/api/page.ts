import { WEB_APP_JS } from "../web/index.ts";

/** What the page needs besides its nonce. */
export interface PageOptions {
  /** A development token to prefill (local stack with a generated secret, on loopback only). */
  token?: string;
  /** Base URL of the stream, when it is not the page's own origin (the deployed Function URL). */
  streamBaseUrl?: string;
}

/**
 * The web client served at `/` and `/client` (the AutoGen streaming API's address): the
 * question form, the live stage timeline, progress with elapsed time and time left, the answer
 * as markdown, tool calls, Cancel, the reconnecting state and recent runs. One self-contained response
 * (no CDN): inline CSS and the esbuild bundle of packages/web, both under the
 * Content-Security-Policy nonce. Markdown is rendered by micromark with raw HTML escaped.
 * @param nonce the CSP nonce of this response.
 */
export function pageHtml(nonce: string, options: PageOptions = {}): string {
  return PAGE_TEMPLATE.replaceAll("__NONCE__", nonce)
    .replace("__TOKEN__", escapeAttribute(options.token ?? ""))
    .replace("__STREAM_URL__", escapeAttribute(options.streamBaseUrl ?? ""))
    .replace("__SCRIPT__", () => WEB_APP_JS);
}

const escapeAttribute = (s: string) => s.replace(/[&"<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);

const PAGE_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stagecast</title>
<style nonce="__NONCE__">
  :root { color-scheme: light dark; --muted: #6b6b6b; --line: #d6d3d1; --accent: #2563eb; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; }
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 1rem; } h2 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
  label { font-weight: 600; }
  textarea { width: 100%; min-height: 4.5rem; font: inherit; box-sizing: border-box; }
  .row { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: .5rem 0; }
  button { font: inherit; padding: .35rem .9rem; cursor: pointer; }
  button:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .layout { display: grid; grid-template-columns: minmax(0, 1fr) 17rem; gap: 1.5rem; }
  @media (max-width: 50rem) { .layout { grid-template-columns: 1fr; } }
  #notice[data-error="true"] { color: var(--bad); }
  #run-head { display: flex; gap: 1rem; align-items: baseline; justify-content: space-between; }
  #run-question { font-style: italic; color: var(--muted); margin: 0; }
  #run-status { font-weight: 700; }
  #connection { color: var(--warn); font-weight: 600; }
  progress { width: 100%; height: 1rem; }
  #progress-text { color: var(--muted); font-variant-numeric: tabular-nums; }
  #timeline { list-style: none; padding: 0; margin: .5rem 0; border-left: 3px solid var(--line); }
  #timeline li { display: grid; grid-template-columns: 7rem 8rem 5rem 1fr; gap: .5rem; padding: .2rem .6rem; font-variant-numeric: tabular-nums; }
  #timeline .name { font-weight: 600; text-transform: capitalize; overflow-wrap: anywhere; }
  #timeline .message { color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #timeline li[data-state="pending"] { color: var(--muted); }
  #timeline li[data-state="running"] .state, #timeline li[data-state="retrying"] .state { color: var(--accent); }
  #timeline li[data-state="retrying"] .state { color: var(--warn); }
  #timeline li[data-state="done"] .state { color: var(--ok); }
  #timeline li[data-state="failed"] .state, #timeline li[data-state="cancelled"] .state { color: var(--bad); }
  #timeline li[aria-current="step"] { border-left: 3px solid var(--accent); margin-left: -3px; }
  #answer { background: color-mix(in srgb, currentColor 6%, transparent); padding: .75rem 1rem; border-radius: 6px; min-height: 2rem; overflow-wrap: anywhere; }
  #answer pre { overflow: auto; }
  #tools { list-style: none; padding: 0; } #tools pre { font-size: 12px; overflow: auto; max-height: 12rem; margin: .25rem 0; }
  #tools li[data-state="failed"] summary { color: var(--bad); }
  #outcome[data-status="completed"] { color: var(--ok); } #outcome[data-status="failed"], #outcome[data-status="timed_out"], #outcome[data-status="cancelled"] { color: var(--bad); }
  #recent { list-style: none; padding: 0; } #recent button { width: 100%; text-align: left; margin: .2rem 0; background: none; border: 1px solid var(--line); border-radius: 4px; color: inherit; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
</style>
</head>
<body data-stream-url="__STREAM_URL__">
<h1>Stagecast</h1>
<div class="layout">
<main>
<form id="ask">
  <label for="question">Question</label>
  <textarea id="question" name="question" required maxlength="8000" aria-describedby="question-hint">How do Step Functions and Lambda stream progress to a browser?</textarea>
  <div id="question-hint" class="visually-hidden">Press Control and Enter to start the run.</div>
  <div class="row">
    <label for="project">Project (optional)</label> <input id="project" name="project" pattern="[A-Za-z0-9_.\\-]{1,64}" title="1 to 64 letters, digits, _ . -">
    <label for="token">Token</label> <input id="token" name="token" type="password" autocomplete="off" value="__TOKEN__">
    <button type="submit" id="start">Start run</button>
  </div>
</form>
<p id="notice" role="alert"></p>
<section id="run-panel" hidden aria-labelledby="run-title">
  <div id="run-head">
    <h2 id="run-title">Run: <span id="run-status"></span> <span id="connection" hidden>Reconnecting…</span></h2>
    <button type="button" id="cancel" disabled>Cancel run</button>
  </div>
  <p id="run-question"></p>
  <progress id="progress" max="100" value="0" aria-label="Run progress" aria-describedby="progress-text"></progress>
  <div id="progress-text"></div>
  <div id="announce" class="visually-hidden" role="status" aria-live="polite"></div>
  <h2 id="timeline-title">Stages</h2>
  <ol id="timeline" aria-labelledby="timeline-title"></ol>
  <h2 id="answer-title">Answer</h2>
  <div id="answer" aria-labelledby="answer-title"></div>
  <p id="outcome" hidden></p>
  <section id="tools-section" hidden aria-labelledby="tools-title">
    <h2 id="tools-title">Tool calls</h2>
    <ul id="tools"></ul>
  </section>
</section>
</main>
<aside aria-labelledby="recent-title">
  <div class="row"><h2 id="recent-title">Recent runs</h2> <button type="button" id="refresh">Refresh</button></div>
  <p id="recent-empty">No runs yet.</p>
  <ul id="recent"></ul>
</aside>
</div>
<script type="module" nonce="__NONCE__">__SCRIPT__</script>
</body>
</html>
`;
