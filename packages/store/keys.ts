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

/** Sort key of a memory item: `MEM#<ISO time>#<runId>`, newest last in key order. */
export const memorySk = (ts: string, runId: string): string => `MEM#${ts}#${runId}`;

/** Partition key of a conversation's turns: `CONV#<owner>#<conversationId>` (per owner, like projects). */
export const conversationPk = (owner: string, conversationId: string): string =>
  `CONV#${ownerSegment(owner)}#${conversationId}`;

/** Sort key of a turn: `TURN#<ISO time>#<runId>`, oldest first in key order. */
export const turnSk = (ts: string, runId: string): string => `TURN#${ts}#${runId}`;
