import {
  type AgentDefinition,
  AgentDefinitionError,
  checkAgent,
  type StageDefinition,
  type StageLoop,
  type Tool,
} from "../agent/index.ts";
import { type StageHandler, type StageOutputs, toStageImpl } from "./handler-context.ts";

/**
 * One stage named `K`, as an agent's author writes it. Settings default as in the built-in
 * agent: `weight` 1 (share of the progress bar and time-left estimate), `timeoutSeconds` 120
 * (the Task's TimeoutSeconds on Step Functions), `retries` 2 (transient failures), `model`
 * OPENAI_MODEL.
 */
export interface StageSpecOf<O extends StageOutputs, K extends keyof O & string> {
  /** `^[a-z][a-z0-9_]{0,31}$`, unique in the agent; not `finalize` or `failed`. */
  name: K;
  weight?: number;
  timeoutSeconds?: number;
  retries?: number;
  model?: string;
  /** A bounded loop back to an earlier stage, taken when the handler calls `ctx.loopBack()`. */
  loop?: StageLoop;
  /** The stage's code: its return value is `ctx.outputs[K]` for later stages, typed as `O[K]`. */
  run: StageHandler<O, K>;
}

/**
 * One stage of an agent whose outputs are `O`: a {@link StageSpecOf} for one of its names.
 * Untyped (`O` left out), any name and any JSON object output.
 */
export type StageSpec<O extends StageOutputs = StageOutputs> = {
  [K in keyof O & string]: StageSpecOf<O, K>;
}[keyof O & string];

/**
 * An agent, as its author writes it: a name (`^[a-z][a-z0-9_-]{0,47}$`), its stages in order,
 * its tools. `O` types the stages' outputs (`defineAgent<{ plan: Plan; answer: Answer }>(…)`).
 */
export interface AgentSpec<O extends StageOutputs = StageOutputs> {
  name: string;
  stages: readonly StageSpec<O>[];
  /** Tools made with defineTool; the models and `ctx.tool` can call them and the built-in ones. */
  tools?: readonly Tool[];
  /**
   * Largest stage output kept inline in the execution's state, in bytes (UTF-8 of its JSON;
   * default 32,768, OUTPUT_INLINE_MAX_BYTES). Larger ones are stored beside the run and read
   * back for later stages (docs/agents.md, "Large outputs"); all inline outputs together stay
   * within 4 times this. Raising it lets more of the state count against Step Functions'
   * 256 KiB limit; tests raise it to see that limit crossed.
   */
  inlineOutputBytes?: number;
}

/**
 * Define an agent. The result is what an agent module exports by default
 * (`STAGECAST_AGENT=<module> npm start` locally; the `agent` setting in sst.config.ts on AWS):
 * the state machine is generated from it, one Task per stage.
 * @typeParam O the stages' outputs by stage name (optional): types `ctx.outputs` and what each
 *   stage's `run` must return.
 * @throws AgentDefinitionError when the definition cannot run (a bad or repeated name, a loop
 *   that does not go back to an earlier stage, a tool not made by defineTool, an
 *   `inlineOutputBytes` that is not a positive integer), at import time.
 */
export function defineAgent<O extends StageOutputs = StageOutputs>(spec: AgentSpec<O>): AgentDefinition {
  const inline = spec.inlineOutputBytes;
  if (inline !== undefined && !(Number.isInteger(inline) && inline > 0)) {
    throw new AgentDefinitionError(`inlineOutputBytes must be a positive integer, not ${inline}`);
  }
  const stages: StageDefinition[] = spec.stages.map(({ run, ...settings }) => ({
    ...settings,
    run: toStageImpl(
      settings.name,
      run as unknown as StageHandler,
      settings.loop?.to,
      spec.inlineOutputBytes,
    ),
  }));
  const definition: AgentDefinition = {
    name: spec.name,
    stages,
    ...(spec.tools ? { tools: spec.tools } : {}),
  };
  checkAgent(definition);
  return definition;
}
