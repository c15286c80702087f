import { HttpError } from "../http/index.ts";

/** Which event types a stream sends: a predicate on the type name. */
export type TypeFilter = (type: string) => boolean;

/** One pattern: a type (`llm.delta`), a family (`stage.*`) or everything (`*`). */
const PATTERN = /^(?:\*|[a-z_]+(?:\.(?:[a-z_]+|\*))?)$/;

/** Most patterns one `types` parameter may hold (a longer list is a client bug, not a filter). */
const MAX_PATTERNS = 32;

/**
 * Parse a stream's `types` query parameter (comma-separated patterns, e.g. `stage.*,run.*`),
 * the filtering the origin documents asked for (docs/origins.md). Undefined means "send everything". Each pattern
 * must name at least one of `known` types, so a typo is a 400, not a silent empty stream.
 * Terminal events, heartbeats and snapshots are sent whatever the filter says: a filtered
 * client must still learn that the run ended and that the connection is alive.
 * @param raw the parameter as received (undefined when absent).
 * @param known every type this stream can send (Stagecast's or the AutoGen format's).
 * @throws HttpError 400 `invalid_types` for an empty, malformed, over-long or unknown pattern.
 */
export function parseTypeFilter(raw: string | undefined, known: readonly string[]): TypeFilter | undefined {
  if (raw === undefined) return undefined;
  const patterns = raw.split(",").map((p) => p.trim());
  const invalid = (why: string) =>
    new HttpError(
      400,
      "invalid_types",
      `types ${why}; use comma-separated names (or families, e.g. ${known[0]?.split(".")[0]}.*) of: ${known.join(", ")}.`,
    );
  if (patterns.length > MAX_PATTERNS) throw invalid(`has more than ${MAX_PATTERNS} patterns`);
  const matchers = patterns.map((pattern) => {
    if (!PATTERN.test(pattern)) throw invalid(`has a malformed pattern "${pattern.slice(0, 40)}"`);
    const matches = (type: string) =>
      pattern === "*" ||
      pattern === type ||
      (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1)));
    if (!known.some(matches)) throw invalid(`names no known event type with "${pattern}"`);
    return matches;
  });
  return (type) => matchers.some((m) => m(type));
}
