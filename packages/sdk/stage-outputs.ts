import { type StageContext, StageFailedError } from "../agent/index.ts";
import { STAGE_OUTPUT_MAX_BYTES, StageOutputMissingError } from "../store/index.ts";
import type { Json } from "./json.ts";

/**
 * Default largest stage output kept inline in the run state, in bytes (UTF-8 of its JSON):
 * 32 KiB (32,768). Step Functions caps a state's input and output at 256 KiB (262,144 bytes;
 * Step Functions quotas, "Maximum input or output size for a task, state, or execution"), and
 * the whole run state (question, answer, usage, every stage's output) travels in it, so one
 * output may take an eighth of it at most. A larger output is stored (store.stageOutputs) and
 * the state keeps a {@link OutputRef} of about 60 bytes instead.
 */
export const OUTPUT_INLINE_MAX_BYTES = 32 * 1024;

/**
 * How many times {@link OUTPUT_INLINE_MAX_BYTES} (or the agent's own `inlineOutputBytes`) all
 * inline outputs of a run may take together: 4, so 128 KiB by default, half the state's
 * 256 KiB. An output that would go over it is stored too, however small, so an agent with many
 * stages stays within the limit.
 */
export const OUTPUT_INLINE_BUDGET_FACTOR = 4;

/**
 * What the run state holds for a stored output (`state.outputs[<stage>]`): the sort key of the
 * store item family under the run's partition (`OUT#<stage>#<pass>#<attempt>`) and the output's
 * size in bytes (UTF-8 of its JSON).
 */
export interface OutputRef {
  $ref: string;
  bytes: number;
}

/**
 * True for a reference the runner wrote. Unambiguous: an output that has a `$ref` member
 * itself is always stored (see {@link keepOutput}), so no inline output looks like this.
 */
export function isOutputRef(value: Json | undefined): value is Json & OutputRef {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 2 &&
    typeof value.$ref === "string" &&
    value.$ref.startsWith("OUT#") &&
    typeof value.bytes === "number"
  );
}

/**
 * The outputs as the handler sees them: every reference replaced by the stored output. Eager,
 * before the handler runs (`ctx.outputs` is a plain object): one strongly consistent Query per
 * reference (one more per 2 chunks past the first 2), in parallel, whether or not the handler
 * reads that output; inline outputs cost nothing.
 * @throws StageFailedError `output_missing` when a stored output is gone (expired under TTL).
 * @throws StoreUnavailableError when DynamoDB fails (the stage is retried).
 */
export async function resolveOutputs(
  ctx: Pick<StageContext, "store" | "runId">,
  outputs: Readonly<Record<string, Json>>,
): Promise<Record<string, Json>> {
  const entries = await Promise.all(
    Object.entries(outputs).map(async ([stage, value]): Promise<[string, Json]> => {
      if (!isOutputRef(value)) return [stage, value];
      try {
        return [stage, JSON.parse(await ctx.store.stageOutputs.get(ctx.runId, value.$ref)) as Json];
      } catch (err) {
        if (!(err instanceof StageOutputMissingError)) throw err;
        throw new StageFailedError("output_missing", `The stored output of stage ${stage} is gone.`, {
          cause: err,
        });
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** Bytes (UTF-8) of the inline outputs in `outputs`, leaving out references and `except`'s own. */
function inlineBytes(outputs: Readonly<Record<string, Json>>, except: string): number {
  let total = 0;
  for (const [stage, value] of Object.entries(outputs)) {
    if (stage !== except && !isOutputRef(value)) total += Buffer.byteLength(JSON.stringify(value), "utf8");
  }
  return total;
}

/**
 * What the run state keeps for this stage's `output`: the output itself while it is at most
 * `inlineMaxBytes` and all inline outputs stay within `inlineMaxBytes` ×
 * {@link OUTPUT_INLINE_BUDGET_FACTOR}; else (or when the output has a `$ref` member) an
 * {@link OutputRef} to the output stored under this run of the stage.
 * @param outputs the state's outputs as they came in (references unresolved).
 * @throws StageFailedError `output_too_large` above STAGE_OUTPUT_MAX_BYTES (4 MiB), nothing stored.
 * @throws StoreUnavailableError when DynamoDB fails (the stage is retried).
 */
export async function keepOutput(
  ctx: Pick<StageContext, "store" | "runId" | "stage" | "attempt" | "state">,
  output: Record<string, Json>,
  outputs: Readonly<Record<string, Json>>,
  inlineMaxBytes: number,
): Promise<Json> {
  const body = JSON.stringify(output);
  const bytes = Buffer.byteLength(body, "utf8");
  const budget = inlineMaxBytes * OUTPUT_INLINE_BUDGET_FACTOR;
  const fits = bytes <= inlineMaxBytes && inlineBytes(outputs, ctx.stage) + bytes <= budget;
  if (fits && !("$ref" in output)) return output;
  if (bytes > STAGE_OUTPUT_MAX_BYTES) {
    throw new StageFailedError(
      "output_too_large",
      `The output of stage ${ctx.stage} is ${bytes} bytes; at most ${STAGE_OUTPUT_MAX_BYTES} can be kept.`,
    );
  }
  const pass = Object.values(ctx.state.loops ?? {}).reduce((a, b) => a + b, 0);
  const stored = await ctx.store.stageOutputs.put(
    ctx.runId,
    { stage: ctx.stage, pass, attempt: ctx.attempt },
    body,
  );
  return { $ref: stored.sk, bytes } satisfies OutputRef;
}
