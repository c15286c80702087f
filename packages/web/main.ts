/**
 * The web client served at `/` and `/client` (packages/api/page.ts inlines this bundle). It adds
 * the Parameters field to the page's form (params-field.ts) and each stage's data to its
 * timeline row (stage-data-view.ts), for any agent.
 * Everything it knows of a run comes through the typed client (packages/client): events
 * folded by applyEvent, so a reload replays the log from seq 0 into an empty view and no
 * text is ever shown twice.
 * Runs are read by SSE, or by long-poll (the scalable mode) with `?mode=long-poll`; the Share
 * button (share-control.ts) gives a `?watch=<poll link>` page link that anyone can open to
 * watch the run read-only by long-poll, with no token (watch-params.ts).
 */
import {
  applyEvent,
  createClient,
  elapsedMs,
  formatDuration,
  initialRunProgress,
  type RunProgress,
  type RunSummary,
  remainingMs,
  StagecastApiError,
  type StageEstimates,
  type StreamState,
} from "../client/index.ts";
import { renderMarkdown } from "./markdown.ts";
import { addPageRules } from "./page-style.ts";
import { addParamsField } from "./params-field.ts";
import { addShareControl } from "./share-control.ts";
import { renderStageData } from "./stage-data-view.ts";
import { lastRun, savedToken } from "./storage.ts";
import { readPageParams } from "./watch-params.ts";

const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = el<HTMLFormElement>("ask");
const question = el<HTMLTextAreaElement>("question");
const project = el<HTMLInputElement>("project");
const tokenInput = el<HTMLInputElement>("token");
const startButton = el<HTMLButtonElement>("start");
const cancelButton = el<HTMLButtonElement>("cancel");
const progressBar = el<HTMLProgressElement>("progress");
addPageRules();
const paramsField = addParamsField(form, form.querySelector(".row"));
const shareControl = addShareControl(el("run-head"), el("run-question"), {
  runId: () => current?.view.runId,
  getWatchLink: (runId) => client.getWatchLink(runId),
  show: (message, isError) => show(message, isError),
});

const STATE_LABEL = {
  pending: "pending",
  running: "running",
  retrying: "retrying",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
} as const;
const STATUS_LABEL = {
  queued: "Queued",
  running: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  timed_out: "Timed out",
} as const;

tokenInput.value = savedToken.get() ?? tokenInput.value;
const pageParams = readPageParams(location.search);
const client = createClient({
  baseUrl: location.origin,
  streamUrl: document.body.dataset.streamUrl || location.origin,
  token: () => tokenInput.value.trim() || undefined,
  readMode: pageParams.mode,
});
document.body.dataset.readMode = pageParams.watch ? "long-poll" : pageParams.mode;

interface Current {
  view: RunProgress;
  estimates: StageEstimates;
  abort: AbortController;
  connection: StreamState;
  /** Server clock minus this browser's clock (ms), from heartbeats: elapsed and ETA use the server's times. */
  skewMs: number;
  /** A shared run's poll link (`?watch=`): read-only, no API call; undefined for the caller's own runs. */
  pollUrl?: string;
}
let current: Current | undefined;
let renderQueued = false;
let renderedAnswer = "";
let announced = "";

function show(message: string, isError = false) {
  const line = el("notice");
  line.textContent = message;
  line.dataset.error = String(isError);
}

function describe(err: unknown): string {
  if (err instanceof StagecastApiError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** Render at most once per frame: deltas arrive up to 10 a second, the answer is re-rendered whole. */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  if (!current) return;
  const { view, estimates, connection } = current;
  const now = Date.now() + current.skewMs;
  const ended = view.terminal !== undefined;
  document.body.dataset.runId = view.runId;
  document.body.dataset.status = view.status;
  document.body.dataset.connection = connection;
  if (view.terminal) document.body.dataset.done = view.terminal;
  else delete document.body.dataset.done;
  el("run-panel").hidden = false;
  el("run-question").textContent = view.question ?? "";
  el("run-status").textContent = STATUS_LABEL[view.status];
  el("connection").hidden = connection !== "reconnecting" || ended;

  progressBar.value = view.progress;
  const eta = remainingMs(view, estimates, now);
  const parts = [`${Math.round(view.progress)}%`, `${formatDuration(elapsedMs(view, now))} elapsed`];
  if (!ended) parts.push(eta === undefined ? "estimating time left…" : `about ${formatDuration(eta)} left`);
  el("progress-text").textContent = parts.join(" · ");
  // A shared run is someone else's: neither cancel nor share it.
  cancelButton.hidden = shareControl.button.hidden = current.pollUrl !== undefined;
  progressBar.setAttribute("aria-valuetext", parts.join(", "));

  const timeline = el("timeline");
  view.stages.forEach((stage, i) => {
    const item = (timeline.children[i] as HTMLLIElement | undefined) ?? timeline.appendChild(stageItem());
    item.dataset.stage = stage.stage;
    item.dataset.state = stage.state;
    const running = stage.state === "running" || stage.state === "retrying";
    const duration =
      stage.durationMs ?? (running && stage.startedAt !== undefined ? now - stage.startedAt : undefined);
    (item.querySelector(".name") as HTMLElement).textContent = stage.stage;
    (item.querySelector(".state") as HTMLElement).textContent =
      STATE_LABEL[stage.state] + (stage.state === "retrying" ? ` (attempt ${stage.attempt + 1})` : "");
    (item.querySelector(".duration") as HTMLElement).textContent =
      duration === undefined ? "" : formatDuration(duration);
    (item.querySelector(".message") as HTMLElement).textContent = running ? (stage.message ?? "") : "";
    if (running) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
    renderStageData(item, stage);
  });

  if (view.answer !== renderedAnswer) {
    renderedAnswer = view.answer;
    el("answer").innerHTML = renderMarkdown(view.answer);
  }
  el("answer").setAttribute("aria-busy", String(!ended));
  renderTools(view);

  const outcome = el("outcome");
  outcome.hidden = !ended;
  outcome.dataset.status = view.status;
  outcome.textContent = ended
    ? `${STATUS_LABEL[view.status]}${view.error ? `: ${view.error.message}` : view.terminal === "run.cancelled" ? ": cancelled by the caller." : "."}${view.usage ? ` ${view.usage.totalTokens} tokens.` : ""}`
    : "";
  cancelButton.disabled = ended;

  // Announce stage changes and the end only: a screen reader must not read every delta.
  const running = view.stages.find((s) => s.state === "running" || s.state === "retrying");
  const announcement = ended
    ? outcome.textContent
    : running
      ? `${running.stage} ${STATE_LABEL[running.state]}`
      : STATUS_LABEL[view.status];
  if (announcement !== announced) {
    announced = announcement;
    el("announce").textContent = announcement;
  }
}

function stageItem(): HTMLLIElement {
  const li = document.createElement("li");
  for (const part of ["name", "state", "duration", "message"]) {
    const span = document.createElement("span");
    span.className = part;
    li.append(span);
  }
  return li;
}

function renderTools(view: RunProgress) {
  const list = el("tools");
  el("tools-section").hidden = view.tools.length === 0;
  view.tools.forEach((tool, i) => {
    let item = list.children[i] as HTMLLIElement | undefined;
    if (!item) {
      item = document.createElement("li");
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      const input = document.createElement("pre");
      const output = document.createElement("pre");
      input.className = "input";
      output.className = "output";
      details.append(summary, input, output);
      item.append(details);
      list.append(item);
    }
    if (item.dataset.state === tool.state) return;
    item.dataset.state = tool.state;
    item.dataset.name = tool.name;
    (item.querySelector("summary") as HTMLElement).textContent =
      `${tool.name} — ${tool.state}${tool.durationMs === undefined ? "" : ` in ${formatDuration(tool.durationMs)}`}`;
    (item.querySelector(".input") as HTMLElement).textContent =
      `input: ${JSON.stringify(tool.input, null, 2)}`;
    (item.querySelector(".output") as HTMLElement).textContent =
      tool.state === "running"
        ? ""
        : tool.error
          ? `error: ${tool.error.message}`
          : `result: ${JSON.stringify(tool.result, null, 2)}`;
  });
}

/**
 * Show a run: replay its log from seq 0 into an empty view, then follow it live. With
 * `pollUrl` (a shared run, `?watch=`) it is read by long-poll from that link alone: no
 * estimates, no cancel, not remembered as the last run, no recent-runs refresh.
 */
async function openRun(runId: string, pollUrl?: string) {
  current?.abort.abort();
  const abort = new AbortController();
  const mine: Current = {
    view: initialRunProgress(runId),
    estimates: {},
    abort,
    connection: "connecting",
    skewMs: 0,
    ...(pollUrl ? { pollUrl } : {}),
  };
  current = mine;
  renderedAnswer = "\u0000";
  el("timeline").textContent = "";
  el("tools").textContent = "";
  shareControl.reset();
  show(pollUrl ? "Watching a shared run (read-only)." : "");
  render();
  if (!pollUrl) {
    lastRun.set(runId);
    client.getRun(runId, { signal: abort.signal }).then(
      (run) => {
        mine.estimates = run.stageEstimates;
        scheduleRender();
      },
      () => undefined, // the subscription reports the same failure
    );
  }
  await follow(mine);
  if (current === mine) {
    mine.connection = "open";
    render();
    if (!pollUrl) void refreshRecent();
  }
}

/** Fold `mine`'s run into its view until the terminal event; a failure is shown in the notice line. */
async function follow(mine: Current) {
  try {
    for await (const event of client.subscribe(mine.view.runId, {
      signal: mine.abort.signal,
      ...(mine.pollUrl ? { pollUrl: mine.pollUrl } : {}),
      onState: (state) => {
        mine.connection = state;
        scheduleRender();
      },
      onHeartbeat: (beat) => {
        if (mine.view.createdAt !== undefined)
          mine.skewMs = mine.view.createdAt + beat.elapsedMs - Date.now();
        scheduleRender();
      },
    })) {
      applyEvent(mine.view, event);
      if (current === mine) scheduleRender();
    }
  } catch (err) {
    if (current !== mine) return;
    if (err instanceof StagecastApiError && err.status === 404 && !mine.pollUrl) lastRun.clear();
    show(`Could not follow the run: ${describe(err)}`, true);
  }
}

async function refreshRecent() {
  let runs: RunSummary[];
  try {
    runs = await client.listRuns({ limit: 10 });
  } catch {
    return; // no token yet, or the API is down: the list just stays as it was
  }
  const list = el("recent");
  list.textContent = "";
  for (const run of runs) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.runId = run.runId;
    button.textContent = `${run.question.slice(0, 80)} — ${STATUS_LABEL[run.status]}, ${new Date(run.createdAt).toLocaleString()}`;
    button.addEventListener("click", () => void openRun(run.runId));
    item.append(button);
    list.append(item);
  }
  el("recent-empty").hidden = runs.length > 0;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const typed = paramsField.read();
  if (!typed.ok) return; // the field says what is wrong; no run starts
  savedToken.set(tokenInput.value.trim());
  startButton.disabled = true;
  show("Starting…");
  try {
    const started = await client.startRun({
      question: question.value,
      ...(project.value.trim() ? { projectId: project.value.trim() } : {}),
      ...(typed.params ? { params: typed.params } : {}),
    });
    void refreshRecent();
    void openRun(started.runId);
  } catch (err) {
    show(`Could not start the run: ${describe(err)}`, true);
  } finally {
    startButton.disabled = false;
  }
});

// Ctrl/Cmd+Enter in the question submits, as in chat apps.
question.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
});

cancelButton.addEventListener("click", async () => {
  if (!current) return;
  cancelButton.disabled = true;
  try {
    await client.cancelRun(current.view.runId);
    show("Cancelling…");
  } catch (err) {
    show(`Could not cancel: ${describe(err)}`, true);
    cancelButton.disabled = false;
  }
});

el("refresh").addEventListener("click", () => void refreshRecent());

// Elapsed time and the estimate move even when no event arrives.
setInterval(() => {
  if (current && !current.view.terminal) scheduleRender();
}, 1000);

const { watch } = pageParams;
if (watch?.runId) void openRun(watch.runId, watch.pollUrl);
else if (watch) show("This watch link is not a Stagecast run link (…/runs/{runId}/poll).", true);
else {
  const remembered = lastRun.get();
  if (remembered) void openRun(remembered);
  void refreshRecent();
}
