/**
 * Style of the parts this script adds to the page (the Parameters field, each stage's data, the
 * Share button's link).
 * They go into the page's own style sheet (packages/api/page.ts, under the CSP nonce) through
 * the CSSOM: the Content-Security-Policy admits only nonce'd style elements and attributes,
 * and rules inserted into an admitted sheet are neither, so nothing is blocked or reported.
 */
const RULES = [
  "#params { min-height: 2.6rem; font-family: ui-monospace, monospace; font-size: 13px; }",
  '#params[aria-invalid="true"] { outline: 2px solid var(--bad); outline-offset: 1px; }',
  ".hint { color: var(--muted); font-size: .9em; margin: .1rem 0 .3rem; }",
  "#params-error { color: var(--bad); font-weight: 600; }",
  "#timeline .data { grid-column: 1 / -1; margin: 0 0 .25rem 7.5rem; min-width: 0; }",
  "#timeline .data summary { color: var(--muted); cursor: pointer; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }",
  "#timeline .data dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .1rem .75rem; margin: .25rem 0; }",
  "#timeline .data dt { font-weight: 600; overflow-wrap: anywhere; }",
  "#timeline .data dd { margin: 0; overflow-wrap: anywhere; }",
  "#timeline .data pre { font-size: 12px; overflow: auto; max-height: 12rem; margin: 0; }",
  "#timeline .data .clipped { color: var(--warn); margin: .2rem 0; }",
  "@media (max-width: 50rem) { #timeline .data { margin-left: 0; } }",
  "#run-head #cancel { margin-left: auto; }",
  "#run-head #share { margin-left: .5rem; }",
  "#share-panel { margin: .25rem 0 .5rem; }",
  "#share-link { display: block; width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: 12px; }",
];

/**
 * Add {@link RULES} to the page's first style sheet, once at start-up. A rule the browser does
 * not support is skipped; with no sheet at all the parts still work, unstyled.
 */
export function addPageRules(): void {
  const sheet = document.styleSheets[0];
  if (!sheet) return;
  for (const rule of RULES) {
    try {
      sheet.insertRule(rule, sheet.cssRules.length);
    } catch {
      // An unsupported rule (an old browser): the part stays readable without it.
    }
  }
}
