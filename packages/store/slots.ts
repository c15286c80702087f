import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { isTerminalType } from "../events/index.ts";
import { slotSk, slotsPk } from "./keys.ts";
import type { RunEvents } from "./run-events.ts";
import type { RunRecord } from "./run-record.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/**
 * What RunSlots reads of the run items to judge a slot stale: RunRecords has it. Declared here
 * rather than imported, because run-records.ts imports this module (ending a run releases its
 * slot), so there is no import cycle.
 */
export interface SlotRuns {
  /** The run item, or undefined when there is none or it expired (RunRecords.get). */
  get(runId: string): Promise<RunRecord | undefined>;
}

/** How long a slot whose run item does not exist yet is left alone (ms): its request may be creating it. */
const CREATING_GRACE_MS = 60_000;

/**
 * Run slots: the per-principal active-run limit, enforced atomically. Each running run holds
 * one slot item (`SLOTS#<owner>` / `<n>`, n < max) claimed with a conditional put, so parallel
 * requests cannot overshoot the limit (a count-then-create check can). A slot is released when
 * its run ends; a slot whose run ended or never came to exist is reclaimed by the next claim,
 * so a crash cannot hold a slot forever.
 */
export class RunSlots {
  readonly table: Table;
  readonly #runs: SlotRuns;
  readonly #events: Pick<RunEvents, "last">;

  /** `runs` and `events` tell whether a slot's holder still needs it (see {@link RunSlots.claim}). */
  constructor(table: Table, runs: SlotRuns, events: Pick<RunEvents, "last">) {
    this.table = table;
    this.#runs = runs;
    this.#events = events;
  }

  /**
   * Claim a free slot for `runId`.
   * @returns the slot number, or undefined when all `max` slots hold live runs.
   * @throws StoreError subclasses.
   */
  async claim(owner: string, runId: string, max: number): Promise<number | undefined> {
    const taken: Array<{ slot: number; holder: string; since: number }> = [];
    for (let slot = 0; slot < max; slot++) {
      const held = await this.#put(owner, slot, runId, undefined);
      if (held === true) return slot;
      taken.push({ slot, ...held });
    }
    for (const { slot, holder, since } of taken) {
      if (!(await this.#stale(holder, since))) continue;
      if ((await this.#put(owner, slot, runId, holder)) === true) return slot;
    }
    return undefined;
  }

  /** Release `runId`'s slot (only if it still holds it). */
  async release(owner: string, slot: number, runId: string): Promise<void> {
    try {
      await this.table.client.send(
        new DeleteItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: slotsPk(owner) }, sk: { S: slotSk(slot) } },
          ConditionExpression: "runId = :run",
          ExpressionAttributeValues: { ":run": { S: runId } },
        }),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw toStoreError("DeleteItem(slot)", err);
    }
  }

  /** A run that ended, or whose run item never appeared within the grace period, no longer needs its slot. */
  async #stale(holder: string, since: number): Promise<boolean> {
    const run = await this.#runs.get(holder);
    if (!run) return this.table.now() - since > CREATING_GRACE_MS;
    const last = await this.#events.last(holder);
    return last !== undefined && isTerminalType(last.type);
  }

  /** Conditional put of slot `slot` for `runId`: free (`replacing` undefined) or held by `replacing`. */
  async #put(
    owner: string,
    slot: number,
    runId: string,
    replacing: string | undefined,
  ): Promise<true | { holder: string; since: number }> {
    const key = { pk: { S: slotsPk(owner) }, sk: { S: slotSk(slot) } };
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...key,
            runId: { S: runId },
            since: { N: String(this.table.now()) },
            expiresAt: { N: String(this.table.expiresAt()) },
          },
          ConditionExpression: replacing === undefined ? "attribute_not_exists(pk)" : "runId = :old",
          ...(replacing === undefined ? {} : { ExpressionAttributeValues: { ":old": { S: replacing } } }),
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw toStoreError("PutItem(slot)", err);
    }
    let item: Record<string, AttributeValue> | undefined;
    try {
      ({ Item: item } = await this.table.client.send(
        new GetItemCommand({ TableName: this.table.tableName, Key: key, ConsistentRead: true }),
      ));
    } catch (err) {
      throw toStoreError("GetItem(slot)", err);
    }
    return { holder: item?.runId?.S ?? "", since: Number(item?.since?.N ?? 0) };
  }
}
