import type { Stage } from "../../events/index.ts";
import type { StageImpl } from "../stage-context.ts";
import { analyzingStage } from "./analyzing-stage.ts";
import { contextStage } from "./context-stage.ts";
import { executionStage } from "./execution-stage.ts";
import { memoryStage } from "./memory-stage.ts";
import { planningStage } from "./planning-stage.ts";
import { validationStage } from "./validation-stage.ts";

/** The six built-in stage implementations, by stage name. */
export const STAGE_IMPLS: Record<Stage, StageImpl> = {
  context: contextStage,
  analyzing: analyzingStage,
  planning: planningStage,
  validation: validationStage,
  execution: executionStage,
  memory: memoryStage,
};
