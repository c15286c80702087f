import { type ExamplePageConfig, PAGE_CONFIG_ID } from "./page-config.ts";

/** The example's styles: one column, the timeline as a grid. */
const STYLE = `
:root { font: 15px/1.45 system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
main { max-width: 860px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { margin: 0 0 4px; font-size: 22px; } h1 small { color: #667; font-weight: 400; font-size: 15px; }
header p { margin: 0 0 16px; color: #445; }
form { display: grid; grid-template-columns: 1fr auto; gap: 6px 10px; align-items: end; }
form label { grid-column: 1 / -1; font-weight: 600; }
textarea { font: inherit; padding: 8px; border: 1px solid #c7ccd3; border-radius: 6px; resize: vertical; }
button { font: inherit; padding: 8px 16px; border: 0; border-radius: 6px; background: #2457d6; color: #fff; cursor: pointer; }
button:disabled { background: #a9b4c8; cursor: default; }
.run { margin-top: 18px; padding: 16px; background: #fff; border: 1px solid #e0e3e8; border-radius: 8px; }
.run-head { display: flex; gap: 10px; align-items: center; }
.run-head button { margin-left: auto; background: #b3261e; } .run-head button:disabled { background: #d9b3b0; }
.status { padding: 2px 8px; border-radius: 10px; background: #e8ecf3; font-weight: 600; }
.status-completed { background: #d8f0dd; } .status-failed, .status-timed_out { background: #f7d7d5; }
.status-cancelled { background: #eee6cf; } .connection, .run-id { color: #667; font-size: 13px; }
.progress { display: flex; gap: 10px; align-items: center; margin: 12px 0; }
.progress progress { flex: 0 0 260px; height: 14px; } .message { color: #556; font-size: 13px; }
.timeline { list-style: none; margin: 0; padding: 0; border-top: 1px solid #eef0f3; }
.timeline li { display: grid; grid-template-columns: 20px 110px 80px 60px 1fr; gap: 8px; padding: 5px 0;
  border-bottom: 1px solid #eef0f3; font-size: 14px; }
.timeline .mark { color: #2457d6; } .timeline li[data-state="done"] .mark { color: #1e8e3e; }
.timeline li[data-state="failed"] .mark, .timeline li[data-state="cancelled"] .mark { color: #b3261e; }
.timeline .name { font-weight: 600; } .timeline .state, .timeline .duration { color: #556; }
.timeline .detail { color: #445; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.timeline .data { margin-left: 8px; color: #7a5c00; font-family: ui-monospace, monospace; font-size: 12px; }
h2 { font-size: 16px; margin: 16px 0 6px; }
.answer { white-space: pre-wrap; padding: 10px 12px; background: #fafbfc; border: 1px solid #eef0f3; border-radius: 6px; }
.outcome { font-weight: 600; } .error { color: #b3261e; } .hint { color: #889; }
`;

/** `value` as JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/**
 * The example's page: its styles, the stack's address (and token) as JSON for main.tsx
 * (page-config.ts), and the bundle at `/app.js`.
 */
export function examplePage(config: ExamplePageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stagecast · React example</title>
<style>${STYLE}</style>
<script type="application/json" id="${PAGE_CONFIG_ID}">${scriptJson(config)}</script>
</head>
<body>
<div id="root"></div>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}
