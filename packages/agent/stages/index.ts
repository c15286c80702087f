import type { StageImpl } from "../stage-context.ts";
import { analyzingStage } from "./analyzing-stage.ts";
import { contextStage } from "./context-stage.ts";
import { executionStage } from "./execution-stage.ts";
import { memoryStage } from "./memory-stage.ts";
import { planningStage } from "./planning-stage.ts";
import { validationStage } from "./validation-stage.ts";

/** The built-in agent's six stage implementations, by stage name (tests wrap them). */
export const STAGE_IMPLS = {
  context: contextStage,
  analyzing: analyzingStage,
  planning: planningStage,
  validation: validationStage,
  execution: executionStage,
  memory: memoryStage,
} as const satisfies Readonly<Record<string, StageImpl>>;
