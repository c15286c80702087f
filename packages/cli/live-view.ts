import { stripVTControlCharacters } from "node:util";
import spinners from "cli-spinners";
import { createLogUpdate } from "log-update";
import pc from "picocolors";
import {
  elapsedMs,
  formatDuration,
  type RunProgress,
  remainingMs,
  STAGE_DATA_LINE_CHARS,
  type StageEstimates,
  type StageView,
  stageDataLine,
} from "../client/index.ts";

/** What the terminal shows of a run; `update` may be called at any rate (it redraws at most every spinner frame). */
export interface View {
  update(view: RunProgress, estimates: StageEstimates, connection: string): void;
  /** Say something under the live view (cancelling, reconnecting). */
  note(text: string): void;
  /** Stop redrawing and print the final state once. */
  finish(view: RunProgress): void;
}

const BAR_WIDTH = 28;

/** The states a stage ends in: the plain view prints the stage's data with them. */
const ENDED: ReadonlySet<StageView["state"]> = new Set(["done", "failed", "cancelled"]);

const ICON: Record<StageView["state"], string> = {
  pending: pc.dim("○"),
  running: "",
  retrying: pc.yellow("↻"),
  done: pc.green("✔"),
  failed: pc.red("✖"),
  cancelled: pc.red("■"),
};

function bar(progress: number): string {
  const filled = Math.round((progress / 100) * BAR_WIDTH);
  return `${pc.cyan("█".repeat(filled))}${pc.dim("░".repeat(BAR_WIDTH - filled))}`;
}

function stageLine(stage: StageView, frame: string, now: number): string {
  const icon = stage.state === "running" ? pc.cyan(frame) : ICON[stage.state];
  const active = stage.state === "running" || stage.state === "retrying";
  const duration =
    stage.durationMs ?? (active && stage.startedAt !== undefined ? now - stage.startedAt : undefined);
  const name = stage.state === "pending" ? pc.dim(stage.stage) : stage.stage;
  const time = duration === undefined ? "" : pc.dim(` ${formatDuration(duration)}`);
  const message = active && stage.message ? pc.dim(`  ${stage.message}`) : "";
  const retry = stage.state === "retrying" ? pc.yellow(` (attempt ${stage.attempt + 1})`) : "";
  return `  ${icon} ${name}${retry}${time}${message}`;
}

/**
 * The stage's line and, when it has data, its data under it (`    problems: 3 · byKind: {…}`),
 * clipped to `columns` characters so the line never wraps (log-update redraws by line count).
 */
function stageLines(stage: StageView, frame: string, now: number, columns: number): string[] {
  const data = stageDataLine(stage, Math.max(10, columns - 5));
  return data ? [stageLine(stage, frame, now), pc.dim(`    ${data}`)] : [stageLine(stage, frame, now)];
}

function progressLine(view: RunProgress, estimates: StageEstimates, now: number): string {
  const parts = [`${Math.round(view.progress)}%`, formatDuration(elapsedMs(view, now))];
  const eta = remainingMs(view, estimates, now);
  if (!view.terminal && eta !== undefined) parts.push(`~${formatDuration(eta)} left`);
  return `  ${bar(view.progress)} ${parts.join(pc.dim(" · "))}`;
}

function outcomeLine(view: RunProgress): string {
  const tokens = view.usage ? pc.dim(` · ${view.usage.totalTokens} tokens`) : "";
  const took = pc.dim(` in ${formatDuration(elapsedMs(view, Date.now()))}`);
  switch (view.status) {
    case "completed":
      return pc.green(`✔ Completed${took}${tokens}`);
    case "cancelled":
      return pc.red("■ Cancelled");
    case "failed":
    case "timed_out":
      return pc.red(
        `✖ ${view.status === "failed" ? "Failed" : "Timed out"}: ${view.error?.message ?? "unknown error"}`,
      );
    default:
      return pc.yellow(`The stream ended while the run was ${view.status}.`);
  }
}

/**
 * The interactive view (stdout is a TTY): a live frame redrawn in place by log-update — the
 * stages with spinners and ticks, each stage's data under it as soon as the stage sends it
 * (one line, clipped to the terminal's width), a progress bar with elapsed time and time left,
 * and the tail of the answer as it is written (only what fits the terminal: log-update cannot
 * redraw lines that scrolled away). At the end the frame is replaced by the full, final output.
 */
export function ttyView(stream: NodeJS.WriteStream): View {
  const log = createLogUpdate(stream, { showCursor: false });
  const spinner = spinners.dots;
  let frame = 0;
  let latest: { view: RunProgress; estimates: StageEstimates; connection: string } | undefined;
  let notice = "";
  const draw = () => {
    if (!latest) return;
    const { view, estimates, connection } = latest;
    const now = Date.now();
    const tick = spinner.frames[frame % spinner.frames.length] ?? "-";
    const columns = stream.columns ?? 80;
    const lines = [
      pc.bold(view.question ?? view.runId),
      ...view.stages.flatMap((s) => stageLines(s, tick, now, columns)),
    ];
    lines.push(progressLine(view, estimates, now));
    if (connection === "reconnecting") lines.push(pc.yellow("  reconnecting…"));
    if (notice) lines.push(pc.yellow(`  ${notice}`));
    if (view.answer) {
      const room = Math.max(3, (stream.rows ?? 24) - lines.length - 2);
      const wrapped = view.answer.split("\n");
      lines.push("", ...wrapped.slice(-room));
    }
    log(lines.join("\n"));
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, spinner.interval);
  return {
    update(view, estimates, connection) {
      latest = { view, estimates, connection };
    },
    note(text) {
      notice = text;
      draw();
    },
    finish(view) {
      clearInterval(timer);
      log.clear();
      log.done();
      const now = Date.now();
      const columns = stream.columns ?? 80;
      const lines = [
        pc.bold(view.question ?? view.runId),
        ...view.stages.flatMap((s) => stageLines(s, "", now, columns)),
      ];
      for (const tool of view.tools) {
        lines.push(
          pc.dim(
            `  ⚙ ${tool.name}(${JSON.stringify(tool.input)}) → ${tool.error ? tool.error.message : JSON.stringify(tool.result)}`,
          ),
        );
      }
      if (view.answer) lines.push("", view.answer, "");
      lines.push(outcomeLine(view));
      stream.write(`${lines.join("\n")}\n`);
    },
  };
}

/**
 * The plain view (stdout is a pipe or file, or TERM=dumb): one line per stage change, the
 * answer streamed as it is written, then the outcome. When a stage ends (done, failed or
 * cancelled) with data, its latest data follows its line, indented, on one line of at most
 * `dataChars` characters (`  problems: 3 · byKind: {"Pod":2}`). No escape codes beyond
 * picocolors', which it leaves off when the output is not a terminal (or NO_COLOR is set).
 */
export function plainView(stream: NodeJS.WritableStream, dataChars = STAGE_DATA_LINE_CHARS): View {
  const states = new Map<string, string>();
  let written = 0;
  let midLine = false;
  return {
    update(view) {
      for (const stage of view.stages) {
        if (states.get(stage.stage) === stage.state || stage.state === "pending") continue;
        states.set(stage.stage, stage.state);
        if (midLine) {
          stream.write("\n");
          midLine = false;
        }
        const took = stage.durationMs === undefined ? "" : ` (${formatDuration(stage.durationMs)})`;
        stream.write(`[${Math.round(view.progress)}%] ${stage.stage}: ${stage.state}${took}\n`);
        const data = ENDED.has(stage.state) ? stageDataLine(stage, dataChars) : "";
        if (data) stream.write(`  ${data}\n`);
      }
      // A retried attempt restarts the answer: write the new one from its start.
      if (view.answer.length < written) written = 0;
      if (view.answer.length > written) {
        stream.write(view.answer.slice(written));
        written = view.answer.length;
        midLine = !view.answer.endsWith("\n");
      }
    },
    note(text) {
      stream.write(`\n${text}\n`);
    },
    finish(view) {
      this.update(view, {}, "open");
      stream.write(`\n${stripVTControlCharacters(outcomeLine(view))}\n`);
    },
  };
}
