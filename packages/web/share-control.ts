import type { WatchLink } from "../client/index.ts";
import { watchPageUrl } from "./watch-params.ts";

/** The page's Share button and the link it shows (see {@link addShareControl}). */
export interface ShareControl {
  /** The button, for the page to hide while it shows a run it does not own. */
  button: HTMLButtonElement;
  /** Hide the link shown (another run was opened). */
  reset(): void;
}

/** What {@link addShareControl} needs from the page. */
export interface ShareDeps {
  /** The run shown now (undefined: none). */
  runId(): string | undefined;
  /** POST /runs/{runId}/watch-token (the client's getWatchLink). */
  getWatchLink(runId: string): Promise<WatchLink>;
  /** Say something in the page's notice line. */
  show(message: string, isError?: boolean): void;
}

/**
 * Add a "Share" button to `head` and a read-only field after `after`: a click gets the run's
 * watch token (POST /runs/{runId}/watch-token, the owner's call) and shows the page link that
 * watches it, `<this page>?watch=<poll link>` (`#share-link`), selected and copied to the
 * clipboard when the browser allows. Anyone who opens it follows the run read-only by
 * long-poll, without a token, until the watch token expires (the field's hint says when).
 */
export function addShareControl(head: HTMLElement, after: HTMLElement, deps: ShareDeps): ShareControl {
  const button = Object.assign(document.createElement("button"), { type: "button", id: "share" });
  button.textContent = "Share";
  head.append(button);
  const panel = Object.assign(document.createElement("div"), { id: "share-panel", hidden: true });
  const label = Object.assign(document.createElement("label"), { htmlFor: "share-link" });
  label.textContent = "Link to watch this run";
  const field = Object.assign(document.createElement("input"), { id: "share-link", readOnly: true });
  const hint = Object.assign(document.createElement("div"), { id: "share-hint", className: "hint" });
  field.setAttribute("aria-describedby", "share-hint");
  panel.append(label, field, hint);
  after.after(panel);

  button.addEventListener("click", async () => {
    const runId = deps.runId();
    if (!runId) return;
    button.disabled = true;
    try {
      const link = await deps.getWatchLink(runId);
      field.value = watchPageUrl(location, link.links.poll);
      const until = link.watchTokenExpiresAt
        ? new Date(link.watchTokenExpiresAt).toLocaleString()
        : undefined;
      hint.textContent = `Anyone with this link can watch the run, read-only${until ? `, until ${until}` : ""}.`;
      panel.hidden = false;
      field.focus();
      field.select();
      deps.show("");
      // Not awaited: a browser may refuse the clipboard, or never answer; the field is there anyway.
      navigator.clipboard?.writeText(field.value).then(
        () => deps.show("Watch link copied."),
        () => undefined,
      );
    } catch (err) {
      deps.show(`Could not share the run: ${err instanceof Error ? err.message : String(err)}`, true);
    } finally {
      button.disabled = false;
    }
  });
  return { button, reset: () => (panel.hidden = true) };
}
