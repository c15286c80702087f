import { z } from "zod";
import { StageSchema } from "../events/index.ts";
import { RESERVED_STAGE_NAMES } from "../workflow/index.ts";
import type { StageImpl } from "./stage-context.ts";
import type { Tool } from "./tools/index.ts";

/**
 * A stage name: a lower-case letter, then lower-case letters, digits or `_`, at most 32
 * characters: the events' STAGE_NAME_PATTERN, defined once there. The name is the stage's id
 * in events, statistics keys and model settings, and its Task state's name is derived from it,
 * so it stays a plain identifier (JSONPath `$.state.loops.<name>` needs no quoting).
 * `finalize` and `failed` are reserved (packages/workflow RESERVED_STAGE_NAMES).
 */
export const StageNameSchema = StageSchema.refine(
  (name) => !RESERVED_STAGE_NAMES.includes(name),
  // Capitalised, they would be the state machine's fixed Finalize and Failed states.
  "finalize and failed are reserved stage names",
);

/**
 * An agent name: like a stage name, with `-` allowed. It keys everything per agent (stage
 * statistics, model settings), so two agents with a stage of the same name never mix.
 */
export const AgentNameSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_-]{0,47}$/,
    "an agent name is a lower-case letter, then letters, digits, _ or - (≤ 48)",
  );

/**
 * A bounded loop back to an earlier stage (e.g. validation → planning). The stage's handler
 * asks for it by returning `goto: <to>` in its outcome; the runner counts the loops taken and
 * the state machine's Choice state goes back while the count is at most `max`, else ends the
 * run with `exhausted` (run.failed with that code).
 */
export const StageLoopSchema = z.strictObject({
  to: StageNameSchema,
  /** How many times the loop may be taken (≥ 1). */
  max: z.number().int().min(1).max(100),
  /** The run.failed error when a further loop is asked for: a machine code and a sentence. */
  exhausted: z.strictObject({ code: StageNameSchema, message: z.string().min(1).max(500) }),
});
/** See {@link StageLoopSchema}. */
export type StageLoop = z.infer<typeof StageLoopSchema>;

/**
 * What the state machine and the clients need to know of a stage (everything but its code).
 * - `weight`: its share of the run's progress bar and of the time-left estimate (relative).
 * - `timeoutSeconds`: the Task state's TimeoutSeconds (s); Step Functions ends the attempt then.
 * - `retries`: Retry MaxAttempts for transient failures (TransientStageError, Lambda service errors).
 * - `model`: the model this stage's calls use, when not the agent's default.
 */
export const StageSettingsSchema = z.strictObject({
  name: StageNameSchema,
  weight: z.number().positive().max(1000).default(1),
  timeoutSeconds: z.number().int().min(1).max(86_400).default(120),
  retries: z.number().int().min(0).max(10).default(2),
  model: z.string().min(1).max(200).optional(),
  loop: StageLoopSchema.optional(),
});
/** A stage's settings with defaults applied. */
export type StageSettings = z.infer<typeof StageSettingsSchema>;

/** One stage of an agent: its settings and the code that runs it. */
export type StageDefinition = z.input<typeof StageSettingsSchema> & {
  /** The stage's body: reports through its context, returns the state changes. */
  run: StageImpl;
};

/** An agent: a name, its stages in order (any names and count) and the tools it adds. */
export interface AgentDefinition {
  name: string;
  /** Tools the agent's stages (and its models) may call, besides the built-in ones (defineTool). */
  tools?: readonly Tool[];
  /** In run order; a run goes through each once, except where a stage loops back. */
  stages: readonly StageDefinition[];
}

/** An agent whose definition was checked, with every stage's defaults applied. */
export interface Agent {
  name: string;
  tools: readonly Tool[];
  stages: ReadonlyArray<StageSettings & { run: StageImpl }>;
  /** The stage by name. */
  stage(name: string): (StageSettings & { run: StageImpl }) | undefined;
}

/** A definition that cannot run: the message names the stage and the rule broken. */
export class AgentDefinitionError extends Error {
  override readonly name = "AgentDefinitionError";
}

/**
 * Check an agent definition and apply defaults: names match their patterns, stage names are
 * unique, there is at least one stage, every `run` is a function, and a loop goes back to an
 * earlier stage (a loop forward or to itself would skip or repeat work unboundedly).
 * @throws AgentDefinitionError naming the first problem.
 */
export function checkAgent(definition: AgentDefinition): Agent {
  const name = AgentNameSchema.safeParse(definition.name);
  if (!name.success)
    throw new AgentDefinitionError(`agent name ${JSON.stringify(definition.name)}: ${message(name.error)}`);
  if (!Array.isArray(definition.stages) || definition.stages.length === 0) {
    throw new AgentDefinitionError(`agent ${name.data}: needs at least one stage`);
  }
  const stages = definition.stages.map((stage, index) => {
    const { run, ...settings } = stage;
    const parsed = StageSettingsSchema.safeParse(settings);
    const label = `agent ${name.data}, stage ${index + 1} (${JSON.stringify(stage.name)})`;
    if (!parsed.success) throw new AgentDefinitionError(`${label}: ${message(parsed.error)}`);
    if (typeof run !== "function") throw new AgentDefinitionError(`${label}: run must be a function`);
    return { ...parsed.data, run };
  });
  const seen = new Map<string, number>();
  stages.forEach((stage, index) => {
    if (seen.has(stage.name))
      throw new AgentDefinitionError(`agent ${name.data}: stage ${stage.name} is defined twice`);
    seen.set(stage.name, index);
    const target = stage.loop ? seen.get(stage.loop.to) : undefined;
    if (stage.loop && (target === undefined || target >= index)) {
      throw new AgentDefinitionError(
        `agent ${name.data}: stage ${stage.name} loops to ${stage.loop.to}, which is not an earlier stage`,
      );
    }
  });
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const tools = checkTools(name.data, definition.tools ?? []);
  return { name: name.data, tools, stages, stage: (stageName) => byName.get(stageName) };
}

/** Tools made by defineTool, each name once. */
function checkTools(agent: string, tools: readonly Tool[]): readonly Tool[] {
  const names = new Set<string>();
  for (const tool of tools) {
    if (typeof tool?.run !== "function" || typeof tool.name !== "string") {
      throw new AgentDefinitionError(`agent ${agent}: every tool must be made with defineTool`);
    }
    if (names.has(tool.name))
      throw new AgentDefinitionError(`agent ${agent}: tool ${tool.name} is defined twice`);
    names.add(tool.name);
  }
  return tools;
}

function message(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "value"}: ${issue.message}`).join("; ");
}
