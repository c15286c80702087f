import {
  type JsonValue,
  STAGE_DATA_MAX_BYTES,
  type StageData,
  type StageView,
  stageDataLine,
} from "../client/index.ts";

/** The data object each timeline item shows now: the view replaces a stage's data whole, so identity says "changed". */
const shown = new WeakMap<Element, StageData | undefined>();

const kb = (bytes: number) => `${Math.round(bytes / 102.4) / 10} KB`;

/** One field's value: text as itself, other scalars as JSON, arrays and objects as indented JSON in a <pre>. */
function valueNode(value: JsonValue): Node {
  if (value === null || typeof value !== "object") {
    return document.createTextNode(typeof value === "string" ? value : JSON.stringify(value));
  }
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(value, null, 2);
  return pre;
}

/** Fill `details` with the stage's data: the one-line summary, the fields as a list, the clipping note. */
function fill(details: HTMLDetailsElement, stage: StageView, data: StageData): void {
  const summary = document.createElement("summary");
  const label = document.createElement("span");
  label.className = "visually-hidden";
  label.textContent = `${stage.stage} data: `;
  summary.append(label, stageDataLine(stage));
  const list = document.createElement("dl");
  for (const [key, value] of Object.entries(data)) {
    const term = document.createElement("dt");
    const description = document.createElement("dd");
    term.textContent = key;
    description.append(valueNode(value));
    list.append(term, description);
  }
  const parts: Node[] = [summary, list];
  if (stage.dataTruncated) {
    const note = document.createElement("p");
    note.className = "clipped";
    note.textContent =
      `The stage sent ${kb(stage.dataTruncated.bytes)} in ${stage.dataTruncated.keys} fields; ` +
      `the ${Object.keys(data).length} that fit in ${kb(STAGE_DATA_MAX_BYTES)} are shown.`;
    parts.push(note);
  }
  details.replaceChildren(...parts); // `open` is the element's: a reader's choice survives updates
}

/**
 * Show `stage`'s own data (its `data`, see StageView) in its timeline `item`: a collapsible
 * `<details class="data">` whose summary is the data on one line (`problems: 3 · byKind: {…}`)
 * and whose body lists each field (scalars inline, arrays and objects as JSON in a `<pre>`).
 * Built with textContent only: agent data never becomes markup. The DOM is touched only when
 * the stage's data object changed since the item last showed it, not on every frame; a stage
 * without data shows nothing.
 */
export function renderStageData(item: HTMLElement, stage: StageView): void {
  const data = stage.data;
  if (shown.get(item) === data) return;
  shown.set(item, data);
  let details = item.querySelector<HTMLDetailsElement>(":scope > details.data");
  if (!data) {
    details?.remove();
    return;
  }
  if (!details) {
    details = document.createElement("details");
    details.className = "data";
    item.append(details);
  }
  fill(details, stage, data);
}
