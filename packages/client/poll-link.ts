import { InvalidPollUrlError } from "./errors.ts";

/**
 * A run's poll link (`links.poll` of POST /runs/{runId}/watch-token, docs/api.md), ready for
 * polling: `base` is the link without any `after` parameter or fragment, `runId` the run its path
 * names, `expiresAtMs` when its watch token lapses (ms since epoch; undefined when unknown).
 */
export interface PollLink {
  base: string;
  runId: string;
  expiresAtMs?: number;
}

/** `/runs/{ULID}/poll` at the end of a path (a CDN may put a prefix before it). */
const POLL_PATH = /\/runs\/([0-9A-HJKMNP-TV-Z]{26})\/poll$/;

/**
 * Read a poll link as given (shared by the run's owner, or from the API). Its query is kept as
 * it was written, in its order, minus any `after` (the client adds its own cursor), so every
 * watcher of one link asks for the same URLs and shares a CDN's cache entries.
 * @param link e.g. `https://stream.example/runs/01M8…/poll?token=eyJ…`.
 * @param expiresAt the token's expiry (ISO-8601), when the API said it.
 * @throws InvalidPollUrlError when `link` is not an absolute http(s) URL ending in `/runs/{runId}/poll`.
 */
export function parsePollLink(link: string, expiresAt?: string): PollLink {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new InvalidPollUrlError(`not an absolute URL: "${link.slice(0, 80)}"`);
  }
  const match = POLL_PATH.exec(url.pathname);
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !match?.[1]) {
    throw new InvalidPollUrlError(`not a poll link (…/runs/{runId}/poll): "${link.slice(0, 80)}"`);
  }
  const kept = url.search
    .slice(1)
    .split("&")
    .filter((pair) => pair !== "" && pair !== "after" && !pair.startsWith("after="));
  const base = `${url.origin}${url.pathname}${kept.length > 0 ? `?${kept.join("&")}` : ""}`;
  const expiresAtMs = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
  return { base, runId: match[1], ...(Number.isNaN(expiresAtMs) ? {} : { expiresAtMs }) };
}

/**
 * The run id a poll link names, or undefined when `link` is not a poll link (see
 * {@link parsePollLink}): for a view that must show the run before its first event.
 */
export function pollLinkRunId(link: string): string | undefined {
  try {
    return parsePollLink(link).runId;
  } catch {
    return undefined;
  }
}

/**
 * The URL of one poll: the link, then `&after=N` (`?after=N` for a link without a query, as with
 * AUTH=off). One order for every watcher: a CDN such as CloudFront does not sort query strings,
 * so `?after=N&token=…` would be another cache entry for the same answer.
 */
export function pollRequestUrl(link: PollLink, after: number): string {
  return `${link.base}${link.base.includes("?") ? "&" : "?"}after=${after}`;
}
