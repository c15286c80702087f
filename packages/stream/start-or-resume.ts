import type { Context } from "hono";
import { type AppEnv, HttpError, principalOf, streamCursor } from "../http/index.ts";
import { CreateRunSchema, describeIssues } from "../run-start/index.ts";
import { ENDED_STATUSES, type RunView, type Store } from "../store/index.ts";
import type { FlushStrategy } from "./flush.ts";
import { type StartInput, startAsCaller } from "./start-as-caller.ts";
import { type StreamFormat, type StreamFormatName, streamFormat } from "./stream-format.ts";
import type { StreamKit } from "./stream-kit.ts";
import { parseTypeFilter, type TypeFilter } from "./type-filter.ts";

/**
 * How many of the caller's newest runs a reconnecting start request searches for the run it
 * started (see {@link startOrResume}): twice the default active-run limit.
 */
export const RESUME_SEARCH_RUNS = 20;

/** How a start route streams: its format (the route's own by default), `types` filter and flush. */
export interface StreamChoice {
  format: StreamFormat;
  filter?: TypeFilter;
  flush: FlushStrategy;
}

/**
 * The `format`, `types` and `flush` query parameters of a start route, checked before its body
 * so that a bad parameter never starts a run.
 * @param fallback the route's format when `format` is absent.
 * @throws HttpError 400 `invalid_flush`, `invalid_format`, `invalid_types`.
 */
export function streamChoice(c: Context<AppEnv>, kit: StreamKit, fallback: StreamFormatName): StreamChoice {
  const flush = kit.flushOf(c);
  const format = streamFormat(c.req.query("format"), fallback);
  const filter = parseTypeFilter(c.req.query("types"), format.types);
  return { format, flush, ...(filter ? { filter } : {}) };
}

/** True when `run` is what `input` would start: same question, projectId, conversationId and params. */
function sameRequest(
  run: Pick<RunView, "question" | "projectId" | "conversationId" | "params">,
  input: StartInput,
): boolean {
  const params = (p: StartInput["params"]) =>
    JSON.stringify(Object.entries(p ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  return (
    run.question === input.question &&
    run.projectId === input.projectId &&
    run.conversationId === input.conversationId &&
    params(run.params) === params(input.params)
  );
}

/** The newest of `owner`'s {@link RESUME_SEARCH_RUNS} newest runs that `input` would start, if any. */
async function findStarted(store: Store, owner: string, input: StartInput): Promise<RunView | undefined> {
  for (const runId of await store.runs.listIds(owner, RESUME_SEARCH_RUNS)) {
    // The run item alone says what was asked; the log's last event only for the one that matches.
    const record = await store.runs.get(runId);
    if (record && sameRequest(record, input)) return store.runs.view(runId);
  }
  return undefined;
}

/** Stream `run` on this response from after `after`, with `X-Run-Id`. */
function streamRun(c: Context<AppEnv>, kit: StreamKit, run: RunView, after: number, choice: StreamChoice) {
  const { format, filter, flush } = choice;
  return kit.streamRun(c, run.runId, run, { after, format, ...(filter ? { filter } : {}), flush });
}

/**
 * Start a run for `candidate` as the caller and stream it on this response from seq 1, in
 * `choice`'s format, with `X-Run-Id`. A request that carries `Last-Event-ID` is a client
 * reconnecting to the same URL with the same body (EventSource does so after every close, a
 * fetch-based SSE client after a drop): it never starts a run. It resumes, after that seq,
 * the caller's newest run (of their {@link RESUME_SEARCH_RUNS} newest) that this request
 * started, with 204 when there is none or the cursor is at or past its terminal event (so
 * EventSource stops).
 * @param candidate the start request (POST /runs' fields), validated here.
 * @throws HttpError 400 `invalid_cursor` (malformed Last-Event-ID), 400 `invalid_request`, and
 *   whatever {@link startAsCaller} throws.
 */
export async function startOrResume(
  c: Context<AppEnv>,
  kit: StreamKit,
  candidate: unknown,
  choice: StreamChoice,
): Promise<Response> {
  const lastEventId = c.req.header("last-event-id");
  const cursor =
    lastEventId === undefined || lastEventId === "" ? undefined : streamCursor(lastEventId, undefined);
  const parsed = CreateRunSchema.safeParse(candidate);
  if (!parsed.success) throw new HttpError(400, "invalid_request", describeIssues(parsed.error));
  const { store } = kit.deps;
  if (cursor !== undefined) {
    const run = await findStarted(store, principalOf(c), parsed.data);
    if (!run || (ENDED_STATUSES.has(run.status) && cursor >= run.lastSeq)) return c.body(null, 204);
    return streamRun(c, kit, run, cursor, choice);
  }
  const runId = await startAsCaller(c, kit, parsed.data);
  const run = await store.runs.view(runId);
  if (!run) throw new HttpError(404, "run_not_found", "No run with that id.");
  return streamRun(c, kit, run, 0, choice);
}
