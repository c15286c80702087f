import type { Page } from "playwright-core";

/** One state of one item of the page's stage timeline: its stage, state and shown message. */
export interface TimelineEntry {
  stage: string;
  state: string;
  message: string;
}

/**
 * Record, in the page, every change of each `#timeline li` (the web client's stage timeline,
 * packages/web/main.ts): its `data-stage`, `data-state` and the text of its `.message` (shown
 * while the stage runs), in the order the page rendered them. A MutationObserver on the body,
 * so nothing the page draws between two reads is missed. Read the record with
 * {@link recordedTimeline}; call this after `page.goto` (a navigation drops it).
 */
export async function recordTimeline(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Array<{ stage: string; state: string; message: string }> = [];
    (window as unknown as { timelineSeen: typeof seen }).timelineSeen = seen;
    const note = () => {
      for (const li of document.querySelectorAll("#timeline li")) {
        const entry = {
          stage: li.getAttribute("data-stage") ?? "",
          state: li.getAttribute("data-state") ?? "",
          message: li.querySelector(".message")?.textContent ?? "",
        };
        const last = seen.findLast((e) => e.stage === entry.stage);
        if (!last || last.state !== entry.state || last.message !== entry.message) seen.push(entry);
      }
    };
    new MutationObserver(note).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["data-state", "data-stage"],
    });
  });
}

/** What {@link recordTimeline} has recorded so far, oldest first. */
export function recordedTimeline(page: Page): Promise<TimelineEntry[]> {
  return page.evaluate(() => (window as unknown as { timelineSeen: TimelineEntry[] }).timelineSeen ?? []);
}

/**
 * The stages in the order they first left `pending` in a record: the order the page showed them
 * starting (a stage quicker than one frame may go straight to done; it still counts).
 */
export function startOrder(seen: readonly TimelineEntry[]): string[] {
  return [...new Set(seen.filter((e) => e.state !== "pending").map((e) => e.stage))];
}
