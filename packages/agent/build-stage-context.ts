import { clip, type Stage, type Usage } from "../events/index.ts";
import type { AgentDeps } from "./agent-deps.ts";
import { DeltaCoalescer } from "./delta-coalescer.ts";
import { addUsage, type ModelClient } from "./model-client.ts";
import type { RunState } from "./run-state.ts";
import type { StageContext } from "./stage-context.ts";
import type { StageEvents } from "./stage-events.ts";
import { runTool, type ToolOutcome } from "./tools/index.ts";

/** What one stage attempt gathers for the run state: tokens per stage and the models that answered. */
export interface Collected {
  usageByStage: NonNullable<RunState["usageByStage"]>;
  models: Set<string>;
}

/** The parts of one stage attempt a {@link StageContext} is made of. */
export interface StageContextParts {
  runId: string;
  stage: Stage;
  state: RunState;
  deps: AgentDeps;
  model: ModelClient;
  events: StageEvents;
  /** Aborted when the stage ends or the run is ended from outside. */
  signal: AbortSignal;
}

/**
 * The context a stage implementation runs with: its events (progress, llm.delta, tool calls)
 * go through `events`, so each carries the stage, the attempt and monotonic progress; usage is
 * gathered in `collected` for the next run state.
 */
export function stageContext(parts: StageContextParts): { ctx: StageContext; collected: Collected } {
  const { runId, stage, state, deps, model, events, signal } = parts;
  const { attempt } = events;
  const collected: Collected = { usageByStage: { ...state.usageByStage }, models: new Set(state.models) };
  const ctx: StageContext = {
    runId,
    stage,
    attempt,
    state,
    store: deps.store,
    model,
    tools: deps.tools,
    signal,
    progress: (message, data = {}, fraction = 0.5) =>
      events.emit({
        type: "stage.progress",
        stage,
        attempt,
        progress: events.at(fraction),
        message,
        data: data as never,
      }),
    deltas: (fractionOf, extra) => {
      let chars = 0;
      return new DeltaCoalescer((text) => {
        chars += text.length;
        return events.emit({
          type: "llm.delta",
          stage,
          attempt,
          progress: events.at(fractionOf(chars)),
          message: "Writing the answer…",
          data: { text, model: model.model, ...(extra?.simulated?.() ? { simulated: true } : {}) },
        });
      }, deps.delta);
    },
    callTool: toolCaller(parts),
    recordUsage: (name: string, usage: Usage) => {
      collected.models.add(name);
      // Own keys only: a stage may be called `constructor` (stage names are open).
      const prev = Object.hasOwn(collected.usageByStage, stage) ? collected.usageByStage[stage] : undefined;
      collected.usageByStage[stage] = prev ? addUsage(prev, usage) : usage;
    },
  };
  return { ctx, collected };
}

/** `callTool`: tool.started, the tool under its limits (runTool), tool.completed with its outcome. */
function toolCaller(parts: StageContextParts): StageContext["callTool"] {
  const { runId, stage, state, deps, events, signal } = parts;
  const { attempt } = events;
  let toolCalls = 0;
  return async (rawName, input, fraction, callId = `${stage}-${attempt}-${++toolCalls}`) => {
    const name = clip(rawName, 64); // a model may send any name; events stay within the schema
    const toolInput = (input ?? null) as never;
    const common = { type: "tool.started", stage, attempt, progress: events.at(fraction) } as const;
    await events.emit({ ...common, message: `Running ${name}…`, data: { callId, name, input: toolInput } });
    const tool = deps.tools.get(name);
    const outcome: ToolOutcome = tool
      ? await runTool(tool, input, {
          runId,
          ...(state.projectId ? { projectId: state.projectId } : {}),
          ...(state.owner ? { owner: state.owner } : {}),
          store: deps.store,
          signal,
          now: deps.store.table.now,
        })
      : {
          ok: false,
          error: { code: "unknown_tool", message: `There is no tool called ${name}.` },
          durationMs: 0,
        };
    const call = { callId, name, input: toolInput, durationMs: outcome.durationMs };
    await events.emit({
      type: "tool.completed",
      stage,
      attempt,
      progress: events.at(fraction),
      message: outcome.ok
        ? `${name} finished in ${outcome.durationMs} ms.`
        : `${name} failed: ${outcome.error.message}`,
      data: outcome.ok
        ? { ...call, ok: true, result: outcome.result as never }
        : { ...call, ok: false, error: outcome.error },
    });
    return outcome;
  };
}
