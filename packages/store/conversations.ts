import { conversationPk, TURN_SK_PREFIX, turnSk } from "./keys.ts";
import { ANONYMOUS } from "./run-record.ts";
import { newestByPrefix, putSideItem } from "./side-items.ts";
import type { Table } from "./table.ts";

/** One finished turn of a conversation (`pk = CONV#<conversationId>`), written by the memory stage. */
export interface TurnItem {
  conversationId: string;
  /** The principal whose conversation it is (default `anonymous`). */
  owner?: string;
  runId: string;
  /** ISO-8601 UTC time in the sort key, ordering a conversation's turns (the memory stage writes the run's start). */
  ts: string;
  question: string;
  /** The answer, clipped by the writer. */
  answer: string;
}

/**
 * The conversations: one item per finished turn (`pk = CONV#<owner>#<conversationId>`,
 * `sk = TURN#<ts>#<runId>`), read back by the conversation's next run. Items live the table's
 * retention (TTL). Throws only StoreError subclasses.
 */
export class Conversations {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /** Store a finished conversation turn (with TTL). */
  put(item: TurnItem): Promise<void> {
    return putSideItem(
      this.table,
      conversationPk(item.owner ?? ANONYMOUS, item.conversationId),
      turnSk(item.ts, item.runId),
      item,
      "turn",
    );
  }

  /** A conversation's newest `limit` turns, returned oldest first (the order a prompt wants). */
  async list(conversationId: string, limit: number, owner = ANONYMOUS): Promise<TurnItem[]> {
    const pk = conversationPk(owner, conversationId);
    const items = await newestByPrefix(this.table, pk, TURN_SK_PREFIX, limit, "turns");
    return items
      .map(
        ({ conversationId: c, runId, ts, question, answer }) =>
          ({ conversationId: c, runId, ts, question, answer }) as TurnItem,
      )
      .reverse();
  }
}
