import type { Hono } from "hono";
import { type AppEnv, authenticate, HttpError, limitBody, readJsonBody } from "../http/index.ts";
import { AG_UI, agUiFormat } from "./ag-ui-format.ts";
import { agUiStart } from "./ag-ui-input.ts";
import { startAsCaller } from "./start-as-caller.ts";
import type { StreamKit } from "./stream-kit.ts";
import { parseTypeFilter } from "./type-filter.ts";

/**
 * Largest POST /ag-ui body (bytes): 1 MiB. Larger than POST /runs' 64 KiB because an AG-UI
 * client sends the whole conversation with every run (RunAgentInput.messages), though only the
 * last user message is used; a Function URL takes at most 6 MB.
 */
export const AG_UI_MAX_BODY_BYTES = 1024 * 1024;

/** The 422 answer when an AG-UI runId comes back with another question or thread. */
const RUN_ID_REUSED = "This runId was used with a different question or thread: send a new runId.";

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
  const { deps, flushOf } = kit;
  app.post("/ag-ui", authenticate(deps.auth), limitBody(AG_UI_MAX_BODY_BYTES), async (c) => {
    if (!deps.start) throw new HttpError(404, "not_found", "This stream host does not start runs.");
    const flush = flushOf(c);
    const filter = parseTypeFilter(c.req.query("types"), AG_UI.types);
    const start = agUiStart(await readJsonBody(c));
    // AG-UI's runId is the idempotency key: a client that sends the same RunAgentInput again
    // (a retry after a lost response) gets the same run, streamed from seq 1, not a second one.
    const runId = await startAsCaller(c, kit, start.input, start.idempotencyKey, RUN_ID_REUSED);
    return kit.streamRun(c, runId, await deps.store.runs.view(runId), {
      after: 0,
      format: agUiFormat({ threadId: start.threadId }),
      ...(filter ? { filter } : {}),
      flush,
    });
  });
}
