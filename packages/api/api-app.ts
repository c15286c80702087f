import type { Context, Hono } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { isTerminalType } from "../events/index.ts";
import {
  type AppEnv,
  type AuthSettings,
  authenticate,
  baseApp,
  errorResponse,
  HttpError,
  limitBody,
  ownedBy,
  parseCursor,
  principalOf,
  runIdParam,
  startRunFromRequest,
} from "../http/index.ts";
import type { LogFn } from "../observability/index.ts";
import type { RunAgentInfo } from "../run-start/index.ts";
import { ENDED_STATUSES, endRun, type RunView, type Store } from "../store/index.ts";
import type { Workflow } from "../workflow/index.ts";
import { pageHtml } from "./page.ts";

/** What the API app needs. */
export interface ApiDeps {
  store: Store;
  workflow: Workflow;
  /** The agent runs are started for: its name and stage list go into each new run. */
  agent: RunAgentInfo;
  auth: AuthSettings;
  /** Most runs one principal may have running at once (429 beyond it). */
  maxActiveRuns: number;
  /** A development token the page at / offers to use (local stack with a generated secret only). */
  devToken?: string;
  /** Public base URL of the stream endpoint; unset = the API's own origin. */
  streamBaseUrl?: string;
  log?: LogFn;
}

/** URLs of a run's resources, absolute. */
function links(origin: string, streamBase: string, runId: string) {
  return {
    self: `${origin}/runs/${runId}`,
    events: `${origin}/runs/${runId}/events`,
    stream: `${streamBase.replace(/\/+$/, "")}/runs/${runId}/stream`,
  };
}

function publicView(view: RunView, runLinks: ReturnType<typeof links>) {
  const { expiresAt: _ttl, executionArn: _arn, owner: _owner, ...rest } = view;
  return { ...rest, links: runLinks };
}

/** The stream link carrying a stream token in its query string (EventSource cannot send headers). */
function withToken(streamUrl: string, token: string | undefined): string {
  return token ? `${streamUrl}?token=${encodeURIComponent(token)}` : streamUrl;
}

/**
 * The API (API Gateway HTTP API → functions/api.ts on AWS; @hono/node-server locally):
 * - POST /runs → 202 `{ runId, status, links }` and a Location header; starts the workflow. With
 *   an `Idempotency-Key` header, the same key and request within 24 h answer the same 202 (and
 *   `Idempotent-Replayed: true`) without starting anything; the same key with another request is 422.
 * - GET /runs/{runId} → the run's agent and stage list, status, stage, progress, last seq and
 *   result, plus `stageEstimates` (mean durations of its agent's stages in recent runs, for a
 *   time-remaining estimate).
 * - GET /runs/{runId}/events?after=N&limit=M → a JSON page of events (for clients that cannot stream).
 * - POST /runs/{runId}/cancel → 202 (again for a run already cancelled), 409 `run_finished` for a
 *   run that ended otherwise; writes run.cancelled and stops the execution.
 * - GET / and GET /client → the web client (packages/web), served with a nonce CSP.
 * Errors: `{ error: { code, message, requestId } }` with 400/401/404/409/413/415/422/429/503
 * (500 only for our own faults); never a stack trace (docs/api.md, "Errors").
 */
export function createApiApp(deps: ApiDeps): Hono<AppEnv> {
  const log = deps.log ?? (() => {});
  const app = baseApp(log);
  app.notFound((c) => errorResponse(c, new HttpError(404, "not_found", "No such route.")));
  registerPage(app, deps);
  app.use("/runs", authenticate(deps.auth));
  app.use("/runs/*", authenticate(deps.auth));

  registerRunRoutes(app, deps, log);
  return app;
}

/** GET / and GET /client: the web client, under a nonce Content-Security-Policy. */
function registerPage(app: Hono<AppEnv>, deps: ApiDeps): void {
  const page = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: [NONCE],
      connectSrc: ["'self'", ...(deps.streamBaseUrl ? [new URL(deps.streamBaseUrl).origin] : [])],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "no-referrer",
  });
  const servePage = (c: Context<AppEnv>) =>
    c.html(
      pageHtml(c.get("secureHeadersNonce") ?? "", {
        ...(deps.devToken ? { token: deps.devToken } : {}),
        ...(deps.streamBaseUrl ? { streamBaseUrl: deps.streamBaseUrl } : {}),
      }),
    );
  app.get("/", page, servePage);
  app.get("/client", page, servePage);
}

/** Helpers of the /runs routes: the caller's own run (or 404) and a stream token for it. */
function runAccess(deps: ApiDeps) {
  const { store } = deps;
  /** The run if the caller owns it; someone else's run is as unknown as a missing one (404). */
  const ownedRun = async (c: Context<AppEnv>, runId: string) =>
    ownedBy(await store.runs.get(runId), principalOf(c));
  const streamToken = async (c: Context<AppEnv>, runId: string) =>
    deps.auth.streamTokens ? deps.auth.streamTokens.mint(runId, principalOf(c)) : undefined;

  return { ownedRun, streamToken };
}

/** POST /runs, then the routes of one run (cancel, list, stream token, view, events). */
function registerRunRoutes(app: Hono<AppEnv>, deps: ApiDeps, log: LogFn): void {
  const { store, workflow } = deps;
  const { streamToken } = runAccess(deps);
  app.post("/runs", limitBody(), async (c) => {
    const started = await startRunFromRequest(c, {
      store,
      workflow,
      agent: deps.agent,
      maxActiveRuns: deps.maxActiveRuns,
      log,
    });
    const origin = new URL(c.req.url).origin;
    if (started.replayed) c.header("Idempotent-Replayed", "true");
    const runLinks = links(origin, deps.streamBaseUrl ?? origin, started.runId);
    const token = await streamToken(c, started.runId);
    c.header("Location", runLinks.self);
    return c.json(
      {
        runId: started.runId,
        status: "queued",
        ...(token ? { streamToken: token.token, streamTokenExpiresAt: token.expiresAt } : {}),
        links: { ...runLinks, stream: withToken(runLinks.stream, token?.token) },
      },
      202,
    );
  });

  registerRunReads(app, deps, log);
  registerWatchToken(app, deps);
}

/**
 * POST /runs/{runId}/watch-token → 200 `{ runId, watchToken?, watchTokenExpiresAt?, links: { poll } }`
 * for the run's owner (same check as /stream-token; someone else's run is 404). The watch token is
 * one string for every watcher of the run within a window (see WatchTokens), and `links.poll` is
 * the poll URL carrying it (`<stream base>/runs/{runId}/poll?token=…`; no token with AUTH=off).
 */
function registerWatchToken(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { ownedRun } = runAccess(deps);
  app.post("/runs/:runId/watch-token", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    await ownedRun(c, runId);
    const token = await deps.auth.watchTokens?.mint(runId);
    const origin = new URL(c.req.url).origin;
    const poll = `${(deps.streamBaseUrl ?? origin).replace(/\/+$/, "")}/runs/${runId}/poll`;
    return c.json({
      runId,
      ...(token ? { watchToken: token.token, watchTokenExpiresAt: token.expiresAt } : {}),
      links: { poll: withToken(poll, token?.token) },
    });
  });
}

/** The routes that act on or read one run, or list the caller's runs. */
function registerRunReads(app: Hono<AppEnv>, deps: ApiDeps, log: LogFn): void {
  const { store, workflow } = deps;
  const { ownedRun, streamToken } = runAccess(deps);
  app.post("/runs/:runId/cancel", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    await ownedRun(c, runId);
    // The terminal event goes first: from that moment the store refuses the stage's appends,
    // and the stage, which checks the log, aborts its model call.
    const ended = await endRun(store, runId, { type: "run.cancelled", reason: "Cancelled by the caller." });
    if (!ended) {
      const last = await store.events.last(runId);
      if (last?.type !== "run.cancelled") {
        throw new HttpError(409, "run_finished", `The run already ended (${last?.type ?? "unknown"}).`);
      }
    }
    try {
      await workflow.stop(runId);
    } catch (err) {
      // The cancellation is recorded and the stage stops by itself; the execution then fails
      // its next Task. Log and answer as usual.
      log({ level: "warn", msg: "could not stop the execution", runId, error: String(err) });
    }
    const origin = new URL(c.req.url).origin;
    return c.json(
      { runId, status: "cancelled", links: links(origin, deps.streamBaseUrl ?? origin, runId) },
      202,
    );
  });

  app.get("/runs", async (c) => {
    const limitRaw = c.req.query("limit");
    const limit = limitRaw === undefined ? 20 : /^\d{1,4}$/.test(limitRaw) ? Number(limitRaw) : Number.NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
      throw new HttpError(400, "invalid_limit", "limit must be an integer from 1 to 50.");
    }
    const ids = await store.runs.listIds(principalOf(c), limit);
    const views = await Promise.all(ids.map((id) => store.runs.view(id)));
    const origin = new URL(c.req.url).origin;
    const runs = views
      .filter((v): v is RunView => v !== undefined)
      .map((v) => publicView(v, links(origin, deps.streamBaseUrl ?? origin, v.runId)));
    return c.json({ runs });
  });

  app.post("/runs/:runId/stream-token", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    await ownedRun(c, runId);
    const token = await streamToken(c, runId);
    const origin = new URL(c.req.url).origin;
    const runLinks = links(origin, deps.streamBaseUrl ?? origin, runId);
    return c.json({
      runId,
      ...(token ? { streamToken: token.token, streamTokenExpiresAt: token.expiresAt } : {}),
      links: { ...runLinks, stream: withToken(runLinks.stream, token?.token) },
    });
  });

  registerRunViews(app, deps);
}

/** GET /runs/{runId} (status, result, stage estimates) and GET /runs/{runId}/events (a JSON page). */
function registerRunViews(app: Hono<AppEnv>, deps: ApiDeps): void {
  const { store } = deps;
  const { ownedRun } = runAccess(deps);
  app.get("/runs/:runId", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const view = ownedBy(await store.runs.view(runId), principalOf(c));
    // The estimates are a hint: without them the client shows no time remaining, nothing worse.
    const stageNames = view.stages.map((s) => s.name);
    const estimates = await store.stageStats.estimates(view.agent, stageNames).catch(() => ({}));
    const origin = new URL(c.req.url).origin;
    return c.json({
      ...publicView(view, links(origin, deps.streamBaseUrl ?? origin, runId)),
      stageEstimates: estimates,
    });
  });

  app.get("/runs/:runId/events", async (c) => {
    const runId = runIdParam(c.req.param("runId"));
    const after = parseCursor(c.req.query("after"), "after") ?? 0;
    const limitRaw = c.req.query("limit");
    const limit = limitRaw === undefined ? 100 : /^\d{1,4}$/.test(limitRaw) ? Number(limitRaw) : Number.NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new HttpError(400, "invalid_limit", "limit must be an integer from 1 to 1000.");
    }
    const run = await ownedRun(c, runId);
    const page = await store.events.read(runId, after, limit);
    const lastSeq = page.events.at(-1)?.seq ?? after;
    // Ended when this page holds the terminal event, or the cursor is already past it.
    const ended =
      page.events.some((e) => isTerminalType(e.type)) ||
      (page.events.length === 0 && ENDED_STATUSES.has(run.status));
    return c.json({ runId, events: page.events, nextAfter: lastSeq, hasMore: page.hasMore, ended });
  });
}
