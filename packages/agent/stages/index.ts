import type { Stage } from "../../events/index.ts";
import type { StageImpl } from "../stage-context.ts";
import { analyzingStage } from "./analyzing.ts";
import { contextStage } from "./context.ts";
import { executionStage } from "./execution.ts";
import { memoryStage } from "./memory.ts";
import { planningStage } from "./planning.ts";
import { validationStage } from "./validation.ts";

/** The six built-in stage implementations, by stage name. */
export const STAGE_IMPLS: Record<Stage, StageImpl> = {
  context: contextStage,
  analyzing: analyzingStage,
  planning: planningStage,
  validation: validationStage,
  execution: executionStage,
  memory: memoryStage,
};
