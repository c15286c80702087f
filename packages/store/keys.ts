/**
 * Single-table key layout (docs/design.md, "The table"). The seq in an event's sort key is
 * zero-padded to 10 digits so lexicographic order equals numeric order (up to 9,999,999,999
 * events per run).
 */
export const SEQ_DIGITS = 10;

/** Highest seq the key layout can hold. */
export const MAX_SEQ = 10 ** SEQ_DIGITS - 1;

/** Partition key of a run and its events: `RUN#<runId>`. */
export const runPk = (runId: string): string => `RUN#${runId}`;

/** Sort key of the run item. */
export const RUN_SK = "RUN";

/** Sort key of event `seq`: `EVT#0000000042`. */
export const eventSk = (seq: number): string => `EVT#${String(seq).padStart(SEQ_DIGITS, "0")}`;

/**
 * An owner as a key segment, length-prefixed (`5:alice`), so no choice of owner and id can
 * produce another owner's key (owners may contain `#`).
 */
export const ownerSegment = (owner: string): string => `${owner.length}:${owner}`;

/**
 * Partition key of a project's memory items: `PROJECT#<owner>#<projectId>`. Projects are per
 * owner: a client picks the id, so another principal using the same id must not see them.
 */
export const projectPk = (owner: string, projectId: string): string =>
  `PROJECT#${ownerSegment(owner)}#${projectId}`;

/** Sort-key prefix of every memory item (what a project's memory Query begins with). */
export const MEMORY_SK_PREFIX = "MEM#";

/** Sort key of a memory item: `MEM#<ISO time>#<runId>`, newest last in key order. */
export const memorySk = (ts: string, runId: string): string => `${MEMORY_SK_PREFIX}${ts}#${runId}`;

/** Partition key of a conversation's turns: `CONV#<owner>#<conversationId>` (per owner, like projects). */
export const conversationPk = (owner: string, conversationId: string): string =>
  `CONV#${ownerSegment(owner)}#${conversationId}`;

/** Sort-key prefix of every turn (what a conversation's turns Query begins with). */
export const TURN_SK_PREFIX = "TURN#";

/** Sort key of a turn: `TURN#<ISO time>#<runId>`, oldest first in key order. */
export const turnSk = (ts: string, runId: string): string => `${TURN_SK_PREFIX}${ts}#${runId}`;

/** Sort key of a conversation's newest-run item (see ConversationRuns), in the conversation's partition. */
export const CONVERSATION_RUN_SK = "RUN";

/** Partition of the active-run markers (`sk` = the run id). */
export const ACTIVE_PK = "ACTIVE";

/** Partition of an owner's run index: `OWNER#<owner>` (the owner as it is, not length-prefixed). */
export const ownerPk = (owner: string): string => `OWNER#${owner}`;

/** Sort-key prefix of an owner's run index entries. */
export const OWNER_RUN_SK_PREFIX = "RUN#";

/** Sort key of an owner's index entry for a run: `RUN#<runId>` (run ids are ULIDs, so newest last). */
export const ownerRunSk = (runId: string): string => `${OWNER_RUN_SK_PREFIX}${runId}`;

/** Partition key of an idempotency claim: `IDEM#<caller>#<key>` (caller length-prefixed). */
export const idempotencyPk = (caller: string, key: string): string => `IDEM#${ownerSegment(caller)}#${key}`;

/** Sort key of an idempotency claim. */
export const IDEMPOTENCY_SK = "IDEM";

/** Partition of an owner's run slots: `SLOTS#<owner>`, one item per slot number. */
export const slotsPk = (owner: string): string => `SLOTS#${ownerSegment(owner)}`;

/** Sort key of slot number `slot`: the number in decimal (`0`, `1`, …). */
export const slotSk = (slot: number): string => String(slot);

/**
 * Partition of one agent's stage-duration statistics: `STATS#AGENT#<agent>`, one item per UTC
 * day. Per agent, so two agents with a stage of the same name never mix their durations (agent
 * names have no `#`: see AgentNameSchema).
 */
export const statsPk = (agent: string): string => `STATS#AGENT#${agent}`;

/** The statistics item's attributes for `stage`: attempts completed and their total duration (ms). */
export const statsAttributes = (stage: string): { runs: string; ms: string } => ({
  runs: `${stage}Runs`,
  ms: `${stage}Ms`,
});

/** Sort key of the statistics item of the UTC day holding `ms` (ms since epoch): `DAY#YYYY-MM-DD`. */
export const statsDaySk = (ms: number): string => `DAY#${new Date(ms).toISOString().slice(0, 10)}`;

/** Sort-key prefix of every stored stage output (see stageOutputSk). */
export const STAGE_OUTPUT_SK_PREFIX = "OUT#";

/**
 * Sort key of one stored output of `stage` (under the run's partition `RUN#<runId>`):
 * `OUT#<stage>#<pass>#<attempt>`, where `pass` counts the loops the run took before this stage
 * ran (the sum of `state.loops`) and `attempt` is the stage's retry count. Each run of a stage
 * gets its own key, so a retry or a loop never overwrites an output the state still refers to
 * (stage names have no `#`: see StageNameSchema).
 */
export const stageOutputSk = (stage: string, pass: number, attempt: number): string =>
  `${STAGE_OUTPUT_SK_PREFIX}${stage}#${pass}#${attempt}`;

/** Sort key of chunk `index` (0-based) of the stored output `sk`: `<sk>#0000`, `<sk>#0001`, … */
export const stageOutputChunkSk = (sk: string, index: number): string =>
  `${sk}#${String(index).padStart(4, "0")}`;
