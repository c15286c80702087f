import { pollLinkRunId, type ReadMode } from "../client/index.ts";

/** How the page was asked to read runs, from its own URL (see {@link readPageParams}). */
export interface PageParams {
  /** How the page's own runs are read: `long-poll` with `?mode=long-poll`, else `sse`. */
  mode: ReadMode;
  /**
   * A shared run to watch (`?watch=<poll link>`): its link and the run it names. `runId` is
   * undefined when the parameter is there but is not a poll link (the page says so).
   */
  watch?: { pollUrl: string; runId: string | undefined };
}

/**
 * Read the page's query: `?watch=<poll link>` opens that run read-only by long-poll (the link
 * the Share button makes: an audience member needs no token and makes no API call), and
 * `?mode=long-poll` makes the page read its own runs by long-poll instead of SSE (both are the
 * scalable mode of docs/client.md, for a run many people watch behind a CDN).
 * @param search `location.search`, e.g. `?watch=https%3A%2F%2F…%2Fpoll%3Ftoken%3D…`.
 */
export function readPageParams(search: string): PageParams {
  const params = new URLSearchParams(search);
  const pollUrl = params.get("watch") ?? undefined;
  return {
    mode: params.get("mode") === "long-poll" ? "long-poll" : "sse",
    ...(pollUrl ? { watch: { pollUrl, runId: pollLinkRunId(pollUrl) } } : {}),
  };
}

/**
 * The page URL that watches the run of `pollLink`: this page (`origin` and `pathname`, no other
 * parameter) with `?watch=<pollLink>`, encoded so the link's own `?token=…` stays one value.
 */
export function watchPageUrl(page: { origin: string; pathname: string }, pollLink: string): string {
  return `${page.origin}${page.pathname}?watch=${encodeURIComponent(pollLink)}`;
}
