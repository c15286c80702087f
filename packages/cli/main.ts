/**
 * The terminal client: `stagecast ask "question"` and `stagecast watch <runId>`
 * (`npx stagecast …` from a clone, or `npm run ask -- "question"`). docs/client.md.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  addParam,
  applyEvent,
  createClient,
  InvalidParamError,
  initialRunProgress,
  type RunParams,
  type RunProgress,
  type RunStatus,
  STATUS_OF_TERMINAL,
  StagecastApiError,
  type StagecastClient,
  StagecastConnectionError,
  type StageEstimates,
  TERMINAL_TYPES,
  type TerminalType,
} from "../client/index.ts";
import { EXIT, exitCodeOf } from "./exit-codes.ts";
import { plainView, ttyView, type View } from "./live-view.ts";

/** Where the server is when neither --url nor STAGECAST_URL says: `npm start`'s default address. */
export const DEFAULT_URL = "http://127.0.0.1:3000";

interface CommonOptions {
  url: string;
  streamUrl?: string;
  token?: string;
  json?: boolean;
}

/** The options of `ask`: `param` holds the `--param` entries, parsed. */
type AskOptions = CommonOptions & { project?: string; conversation?: string; param?: RunParams };

/** Follow a run to its end, showing it, and return the exit code. Ctrl-C cancels it when `cancelOnInterrupt`. */
async function follow(
  client: StagecastClient,
  runId: string,
  options: CommonOptions & { after?: number; cancelOnInterrupt: boolean },
): Promise<number> {
  const abort = new AbortController();
  const view: RunProgress = initialRunProgress(runId);
  let estimates: StageEstimates = {};
  let connection = "connecting";
  const out: View | undefined = options.json
    ? undefined
    : // A terminal that reports no size (some CI pseudo-terminals) cannot be redrawn in place.
      process.stdout.isTTY && (process.stdout.rows ?? 0) > 0 && process.env.TERM !== "dumb"
      ? ttyView(process.stdout)
      : plainView(process.stdout);
  let interrupted = 0;
  const onInterrupt = () => {
    interrupted++;
    if (interrupted > 1 || !options.cancelOnInterrupt) {
      abort.abort();
      return;
    }
    out?.note("Cancelling the run… (Ctrl-C again to leave without waiting)");
    client.cancelRun(runId).catch((err: unknown) => {
      out?.note(`Could not cancel: ${err instanceof Error ? err.message : String(err)}`);
    });
  };
  // A reader that goes away (`| head -1`) is not an error of the run: stop quietly, as
  // pipeline tools do, and leave the run alone.
  let readerGone = false;
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    readerGone = true;
    abort.abort();
  };
  process.on("SIGINT", onInterrupt);
  process.stdout.on("error", onStdoutError);
  // The run as it is now: estimates for the time left, and the question, agent, stage list and
  // start time when watching from a later seq (run.queued, which carries them, is then not
  // replayed; when it is, it sets the same stages again).
  const known = await client.getRun(runId).catch(() => undefined);
  if (known) {
    estimates = known.stageEstimates;
    view.question = known.question;
    view.agent = known.agent;
    view.stages = initialRunProgress(runId, known.stages).stages;
    view.createdAt = Date.parse(known.createdAt);
  }
  try {
    for await (const event of client.subscribe(runId, {
      signal: abort.signal,
      ...(options.after === undefined ? {} : { after: options.after }),
      onState: (state) => {
        connection = state;
        out?.update(view, estimates, connection);
      },
    })) {
      if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
      applyEvent(view, event);
      out?.update(view, estimates, connection);
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    process.stdout.off("error", onStdoutError);
  }
  if (readerGone) return EXIT.readerGone;
  // The stream ended without a terminal event for us: the run ended at or before `--after`
  // (the server answers 204). Its status says how.
  if (!view.terminal && !abort.signal.aborted) {
    const run = await client.getRun(runId).catch(() => undefined);
    if (run && TERMINAL_OF[run.status]) {
      Object.assign(view, {
        status: run.status,
        terminal: TERMINAL_OF[run.status],
        progress: run.progress,
        endedAt: Date.parse(run.updatedAt),
        ...(run.answer === undefined ? {} : { answer: run.answer }),
        ...(run.error === undefined ? {} : { error: run.error }),
      });
    }
  }
  out?.finish(view);
  if (abort.signal.aborted && !view.terminal) return EXIT.cancelled;
  return exitCodeOf(view.status);
}

/** The terminal event each ended status stands for (the inverse of STATUS_OF_TERMINAL). */
const TERMINAL_OF: Partial<Record<RunStatus, TerminalType>> = Object.fromEntries(
  TERMINAL_TYPES.map((type) => [STATUS_OF_TERMINAL[type], type]),
);

function clientFor(options: CommonOptions): StagecastClient {
  return createClient({
    baseUrl: options.url,
    ...(options.streamUrl ? { streamUrl: options.streamUrl } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
}

const url = (value: string) => {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error();
    return value;
  } catch {
    throw new InvalidArgumentError("must be an http(s) URL.");
  }
};

/**
 * `--param key=value`, once per parameter: each is parsed as the page parses a line of its
 * Parameters field (packages/client params.ts: typed values, at most 20, no key twice), so a
 * malformed one is a usage error (exit 2) before any request is made.
 */
const param = (entry: string, previous: RunParams = {}): RunParams => {
  try {
    return addParam(previous, entry);
  } catch (err) {
    if (err instanceof InvalidParamError) throw new InvalidArgumentError(`${err.reason}.`);
    throw err;
  }
};

const common = (command: Command) =>
  command
    .addOption(
      new Option("--url <url>", "API base URL").env("STAGECAST_URL").default(DEFAULT_URL).argParser(url),
    )
    .addOption(
      new Option("--stream-url <url>", "stream base URL (deployed: the stream output)")
        .env("STAGECAST_STREAM_URL")
        .argParser(url),
    )
    .addOption(new Option("--token <jwt>", "caller bearer token").env("STAGECAST_TOKEN"))
    .option("--json", "print each event as one JSON line (NDJSON) and nothing else");

/** The program (exported for tests: parse with `{ from: "user" }`). */
export function program(): Command {
  const cli = new Command("stagecast")
    .description("Ask Stagecast and watch the run's stages, progress and answer live.")
    .showHelpAfterError()
    .exitOverride();
  common(
    cli
      .command("ask")
      .description("start a run and follow it to the end; Ctrl-C cancels it")
      .argument("<question...>", "the question or task")
      .option("--project <id>", "project id (scopes the memory stage)")
      .option("--conversation <id>", "conversation id (links turns)")
      .option(
        "--param <key=value>",
        'a named value for the agent (ctx.input.params); repeat it for more (at most 20); true/false and numbers are typed, "…" keeps a value as text',
        param,
      ),
  ).action(async (words: string[], options: AskOptions) => {
    const client = clientFor(options);
    const started = await client.startRun({
      question: words.join(" "),
      ...(options.project ? { projectId: options.project } : {}),
      ...(options.conversation ? { conversationId: options.conversation } : {}),
      ...(options.param ? { params: options.param } : {}),
    });
    if (!options.json) process.stderr.write(`run ${started.runId}\n`);
    process.exitCode = await follow(client, started.runId, { ...options, cancelOnInterrupt: true });
  });
  common(
    cli
      .command("watch")
      .description("attach to a run (running or ended) and follow it; Ctrl-C detaches")
      .argument("<runId>", "the run's id")
      .option("--after <seq>", "only events after this sequence number", (v) => {
        if (!/^\d{1,10}$/.test(v)) throw new InvalidArgumentError("must be a non-negative integer.");
        return Number(v);
      }),
  ).action(async (runId: string, options: CommonOptions & { after?: number }) => {
    process.exitCode = await follow(clientFor(options), runId, { ...options, cancelOnInterrupt: false });
  });
  return cli;
}

/** Run the CLI with `argv` (user arguments only) and return the exit code; errors become one line on stderr. */
export async function run(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT.usage;
    if (err instanceof StagecastApiError) {
      process.stderr.write(`stagecast: ${err.message} (${err.status} ${err.code})\n`);
      return err.status >= 500 ? EXIT.unreachable : EXIT.usage;
    }
    if (err instanceof StagecastConnectionError) {
      process.stderr.write(`stagecast: lost the stream: ${err.message}\n`);
      return EXIT.unreachable;
    }
    if (err instanceof TypeError) {
      // fetch's network failure (connection refused, DNS): say where it tried.
      process.stderr.write(
        `stagecast: cannot reach the server (${err.message}). Is it running? Set --url or STAGECAST_URL.\n`,
      );
      return EXIT.unreachable;
    }
    process.stderr.write(`stagecast: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.unreachable;
  }
}
