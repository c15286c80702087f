import type { RunEvent } from "../events/index.ts";
import { ConversationRuns } from "./conversation-runs.ts";
import { Conversations } from "./conversations.ts";
import { IdempotencyKeys } from "./idempotency-keys.ts";
import { Memories } from "./memories.ts";
import { RunEvents } from "./run-events.ts";
import { RunRecords } from "./run-records.ts";
import { RunSlots } from "./slots.ts";
import { StageOutputs } from "./stage-outputs.ts";
import { StageStats } from "./stage-stats.ts";
import { Table, type TableOptions } from "./table.ts";

/** Options of {@link openStore}: the table's (client, name, retention in seconds, clock) plus the event hook. */
export interface StoreOptions extends TableOptions {
  /**
   * Called once for each event this store wrote (not for a put that found the event already
   * there): where metrics count events appended and runs started/ended. Must not throw.
   */
  onEventStored?: (event: RunEvent) => void;
}

/**
 * The durable progress log over DynamoDB (single table, docs/design.md "The table"), one member
 * per item family, all sharing one {@link Table}. Every item carries `expiresAt` (epoch
 * seconds) for TTL. Every member throws only StoreError subclasses.
 */
export interface Store {
  /** The client, table name, clock (ms) and TTL rules every family uses. */
  table: Table;
  /** Run items, active markers and the owners' run indexes. */
  runs: RunRecords;
  /** The run logs: read, tail, append (`events.log(runId)`). */
  events: RunEvents;
  /** Memory summaries per project. */
  memories: Memories;
  /** Finished turns per conversation. */
  conversations: Conversations;
  /** Each conversation's newest run (an AI SDK chat's resume pointer). */
  conversationRuns: ConversationRuns;
  /** Idempotency claims of run starts. */
  idempotency: IdempotencyKeys;
  /** The per-principal active-run limit. */
  slots: RunSlots;
  /** Stage-duration statistics (the time-remaining estimate). */
  stageStats: StageStats;
  /** Stage outputs too large for the execution's state, stored beside the run (`OUT#…`). */
  stageOutputs: StageOutputs;
}

/** Open the store on an existing table (it creates nothing; see ensureTable for that). */
export function openStore(options: StoreOptions): Store {
  const { onEventStored, ...tableOptions } = options;
  const table = new Table(tableOptions);
  const events = new RunEvents(table, onEventStored);
  const runs = new RunRecords(table, events);
  return {
    table,
    runs,
    events,
    memories: new Memories(table),
    conversations: new Conversations(table),
    conversationRuns: new ConversationRuns(table),
    idempotency: new IdempotencyKeys(table),
    slots: new RunSlots(table, runs, events),
    stageStats: new StageStats(table),
    stageOutputs: new StageOutputs(table),
  };
}
