import { MEMORY_SK_PREFIX, memorySk, projectPk } from "./keys.ts";
import { ANONYMOUS } from "./run-record.ts";
import { newestByPrefix, putSideItem } from "./side-items.ts";
import type { Table } from "./table.ts";

/** A memory item written by a run's memory stage (`pk = PROJECT#<owner>#<projectId>`). */
export interface MemoryItem {
  projectId: string;
  /** The principal whose project it is (default `anonymous`). */
  owner?: string;
  runId: string;
  /** ISO-8601 UTC time in the sort key, ordering a project's memories (the memory stage writes the run's start). */
  ts: string;
  summary: string;
}

/**
 * The memories: one summary per finished run of a project (`pk = PROJECT#<owner>#<projectId>`,
 * `sk = MEM#<ts>#<runId>`), read back by later runs of that project. Items live the table's
 * retention (TTL). Throws only StoreError subclasses.
 */
export class Memories {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /** Store a memory summary under its project (with TTL). */
  put(item: MemoryItem): Promise<void> {
    return putSideItem(
      this.table,
      projectPk(item.owner ?? ANONYMOUS, item.projectId),
      memorySk(item.ts, item.runId),
      item,
      "memory",
    );
  }

  /** A project's memory items, newest first, at most `limit` (strongly consistent, expired ones left out). */
  async list(projectId: string, limit: number, owner = ANONYMOUS): Promise<MemoryItem[]> {
    const items = await newestByPrefix(
      this.table,
      projectPk(owner, projectId),
      MEMORY_SK_PREFIX,
      limit,
      "memory",
    );
    return items.map(
      ({ projectId: p, runId, ts, summary }) => ({ projectId: p, runId, ts, summary }) as MemoryItem,
    );
  }
}
