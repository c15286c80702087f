import type { Hono } from "hono";
import { type AppEnv, authenticate, HttpError, limitBody, startRunFromRequest } from "../http/index.ts";
import { streamFormat } from "./stream-format.ts";
import type { StreamKit } from "./stream-kit.ts";
import { parseTypeFilter } from "./type-filter.ts";

/**
 * POST /ask-stream (the AutoGen streaming service's API, docs/origins.md): starts a run as
 * the caller and streams it on the same response, in the AutoGen format by default. 404 when
 * this host does not start runs.
 */
export function registerAskStream(app: Hono<AppEnv>, kit: StreamKit): void {
  const { deps, flushOf, log } = kit;
  const { store } = deps;
  app.post("/ask-stream", authenticate(deps.auth), limitBody(), async (c) => {
    if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
    const flush = flushOf(c);
    const format = streamFormat(c.req.query("format"), "autogen");
    const filter = parseTypeFilter(c.req.query("types"), format.types);
    const started = await startRunFromRequest(c, { store, ...deps.start, log });
    return kit.streamRun(c, started.runId, await store.runs.view(started.runId), {
      after: 0,
      format,
      ...(filter ? { filter } : {}),
      flush,
    });
  });
}
