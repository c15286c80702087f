import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type AppEnv, authenticate, HttpError, principalOf } from "../http/index.ts";
import { IdempotencyConflictError, startRun, TooManyActiveRunsError } from "../run-start/index.ts";
import { WorkflowUnavailableError } from "../workflow/index.ts";
import { AG_UI, agUiFormat } from "./ag-ui-format.ts";
import { type AgUiStart, agUiStart } from "./ag-ui-input.ts";
import type { StreamKit } from "./stream-kit.ts";
import { tailRun } from "./tail.ts";
import { parseTypeFilter } from "./type-filter.ts";

/**
 * Largest POST /ag-ui body (bytes): 1 MiB. Larger than POST /runs' 64 KiB because an AG-UI
 * client sends the whole conversation with every run (RunAgentInput.messages), though only the
 * last user message is used; a Function URL takes at most 6 MB.
 */
export const AG_UI_MAX_BODY_BYTES = 1024 * 1024;

/**
 * POST /ag-ui: an AG-UI agent endpoint (docs.ag-ui.com "Quickstart – Server": the client POSTs
 * a RunAgentInput as JSON and reads the run as SSE on the same response), so @ag-ui/client's
 * HttpAgent, and CopilotKit through it, work unchanged. It starts a run as the caller (bearer
 * JWT when auth is on) from the last user message and streams it in the `ag-ui` format from
 * seq 1 (docs/api.md §9). Query: `types`, `flush`, checked before the body so a bad one never
 * starts a run. The response carries `X-Run-Id`. Errors before any byte: 400 `invalid_flush` /
 * `invalid_types` / `invalid_json` / `invalid_request` / `no_user_message`, 413
 * `payload_too_large`, 415 `unsupported_media_type`, 422 `idempotency_key_reused`, 429
 * `too_many_active_runs`, 503 `workflow_unavailable`, 404 `not_found` on a host that does not
 * start runs.
 */
export function registerAgUi(app: Hono<AppEnv>, kit: StreamKit): void {
  const { deps, flushOf, respond, tail } = kit;
  app.post("/ag-ui", authenticate(deps.auth), limitAgUiBody(), async (c) => {
    if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
    const flush = flushOf(c);
    const filter = parseTypeFilter(c.req.query("types"), AG_UI.types);
    const start = agUiStart(await readJson(c));
    const runId = await startAgUiRun(c, kit, start);
    const run = await deps.store.runs.view(runId);
    c.header("X-Run-Id", runId);
    return respond(c, (stream, opened) =>
      tailRun(
        stream,
        tail(c, opened, {
          runId,
          after: 0,
          logEnd: run?.lastSeq ?? 0,
          createdMs: run ? Date.parse(run.createdAt) : opened,
          format: agUiFormat({ threadId: start.threadId }),
          ...(filter ? { filter } : {}),
          flush,
        }),
      ),
    );
  });
}

/** Middleware: 413 `payload_too_large` for a body over {@link AG_UI_MAX_BODY_BYTES}, before it is read whole. */
function limitAgUiBody() {
  return bodyLimit({
    maxSize: AG_UI_MAX_BODY_BYTES,
    onError: () => {
      throw new HttpError(
        413,
        "payload_too_large",
        `The request body exceeds ${AG_UI_MAX_BODY_BYTES} bytes.`,
      );
    },
  });
}

/**
 * The parsed JSON body.
 * @throws HttpError 415 `unsupported_media_type` (not application/json), 400 `invalid_json`.
 */
async function readJson(c: Context<AppEnv>): Promise<unknown> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new HttpError(415, "unsupported_media_type", "Send the body as application/json.");
  }
  return c.req.json().catch(() => {
    throw new HttpError(400, "invalid_json", "The request body is not valid JSON.");
  });
}

/**
 * Start the run as the caller, its AG-UI runId as the idempotency key: a client that sends the
 * same RunAgentInput again (a retry after a lost response) gets the same run, streamed from
 * seq 1, not a second one. The start errors are POST /runs' (packages/http create-run.ts).
 * @returns the run id.
 * @throws HttpError 429 `too_many_active_runs` (Retry-After 10), 422 `idempotency_key_reused`
 *   (the runId was used with another question or thread), 503 `workflow_unavailable`
 *   (Retry-After 5); StoreError otherwise.
 */
async function startAgUiRun(c: Context<AppEnv>, kit: StreamKit, start: AgUiStart): Promise<string> {
  const { deps, log } = kit;
  if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
  try {
    const started = await startRun(
      { store: deps.store, ...deps.start, log },
      { owner: principalOf(c), input: start.input, idempotencyKey: start.idempotencyKey },
    );
    return started.runId;
  } catch (err) {
    if (err instanceof TooManyActiveRunsError) {
      throw new HttpError(429, "too_many_active_runs", err.message, { "Retry-After": "10" });
    }
    if (err instanceof IdempotencyConflictError) {
      throw new HttpError(
        422,
        "idempotency_key_reused",
        "This runId was used with a different question or thread: send a new runId.",
      );
    }
    if (err instanceof WorkflowUnavailableError) {
      throw new HttpError(
        503,
        "workflow_unavailable",
        "The workflow could not be started. Try again shortly.",
        {
          "Retry-After": "5",
        },
      );
    }
    throw err;
  }
}
