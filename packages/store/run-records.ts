import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { isTerminalType, STATUS_OF_TERMINAL } from "../events/index.ts";
import { RunExistsError, RunNotFoundError, StoreError } from "./errors.ts";
import { ACTIVE_PK, OWNER_RUN_SK_PREFIX, ownerPk, ownerRunSk, RUN_SK, runPk } from "./keys.ts";
import type { RunEvents } from "./run-events.ts";
import {
  ANONYMOUS,
  LEGACY_AGENT,
  type RunInput,
  type RunPatch,
  type RunRecord,
  type RunView,
} from "./run-record.ts";
import { isConditionFailed, toStoreError } from "./sdk-errors.ts";
import { newestByPrefix, putSideItem } from "./side-items.ts";
import { RunSlots } from "./slots.ts";
import type { Table } from "./table.ts";

/**
 * The run items (`pk = RUN#<runId>`, `sk = RUN`, see {@link RunRecord}) and the items that index
 * them: the active-run markers (`ACTIVE` / `<runId>`) and each owner's run index
 * (`OWNER#<owner>` / `RUN#<runId>`). Throws only StoreError subclasses.
 */
export class RunRecords {
  readonly table: Table;
  readonly #events: RunEvents;
  /** Releases an ended run's slot (stateless: any RunSlots of the same table would do). */
  readonly #slots: RunSlots;

  /** `events` is the log a run's view is merged with (see {@link RunRecords.view}). */
  constructor(table: Table, events: RunEvents) {
    this.table = table;
    this.#events = events;
    this.#slots = new RunSlots(table, this, events);
  }

  /**
   * Create the run item with status `queued` (and the agent's name and stage list when
   * `input` has them), then its active marker (holding `slot`, the run slot it took, if any)
   * and its owner index entry.
   * @throws RunExistsError when the id is taken (the write is conditional, so nothing is overwritten).
   */
  async create(runId: string, input: RunInput, owner = ANONYMOUS, slot?: number): Promise<RunRecord> {
    const ts = new Date(this.table.now()).toISOString();
    const record: RunRecord = {
      runId,
      owner,
      status: "queued",
      question: input.question,
      ...(input.projectId === undefined ? {} : { projectId: input.projectId }),
      ...(input.conversationId === undefined ? {} : { conversationId: input.conversationId }),
      ...(input.params === undefined ? {} : { params: input.params }),
      ...(input.agent === undefined ? {} : { agent: input.agent }),
      ...(input.stages === undefined
        ? {}
        : { stages: input.stages.map(({ name, weight }) => ({ name, weight })) }),
      createdAt: ts,
      updatedAt: ts,
      expiresAt: this.table.expiresAt(),
    };
    try {
      await this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            pk: { S: runPk(runId) },
            sk: { S: RUN_SK },
            ...marshall(record, { removeUndefinedValues: true }),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new RunExistsError(runId);
      throw toStoreError("PutItem(run)", err);
    }
    await putSideItem(
      this.table,
      ACTIVE_PK,
      runId,
      { runId, owner, createdAt: ts, ...(slot === undefined ? {} : { slot }) },
      "active marker",
    );
    // The owner's index, newest last in key order (run ids are ULIDs), for GET /runs.
    await putSideItem(this.table, ownerPk(owner), ownerRunSk(runId), { runId, createdAt: ts }, "owner index");
    return record;
  }

  /**
   * Runs that have not ended, as far as the markers know (`pk = ACTIVE`, `sk = <runId>`, written
   * by {@link RunRecords.create}, removed by {@link RunRecords.unmarkActive}). A marker is a
   * hint: the log decides whether a run ended. One partition; enough for one process or a
   * modest deployment. `createdAt` is the run's creation time (ISO-8601 UTC).
   */
  async listActive(): Promise<Array<{ runId: string; createdAt: string }>> {
    const items = await this.table.queryAll(
      { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: ACTIVE_PK } } },
      "Query(active)",
    );
    return items.map((item) => ({ runId: item.runId?.S ?? "", createdAt: item.createdAt?.S ?? "" }));
  }

  /** The ids of `owner`'s newest runs, newest first, at most `limit` (from the owner's run index). */
  async listIds(owner: string, limit: number): Promise<string[]> {
    const items = await newestByPrefix(this.table, ownerPk(owner), OWNER_RUN_SK_PREFIX, limit, "owner index");
    return items.map((i) => String(i.runId));
  }

  /** Remove a run's active marker (the run ended) and release its run slot. Removing a missing marker is fine. */
  async unmarkActive(runId: string): Promise<void> {
    const key = { pk: { S: ACTIVE_PK }, sk: { S: runId } };
    try {
      const { Attributes: marker } = await this.table.client.send(
        new DeleteItemCommand({ TableName: this.table.tableName, Key: key, ReturnValues: "ALL_OLD" }),
      );
      // The run's slot (active-run limit) goes with its marker.
      const slot = marker?.slot?.N;
      if (slot !== undefined) await this.#slots.release(marker?.owner?.S ?? ANONYMOUS, Number(slot), runId);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw toStoreError("DeleteItem(active)", err);
    }
  }

  /** The run item, or undefined when there is none (or it has expired). Strongly consistent. */
  async get(runId: string): Promise<RunRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      ({ Item: item } = await this.table.client.send(
        new GetItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: runPk(runId) }, sk: { S: RUN_SK } },
          ConsistentRead: true,
        }),
      ));
    } catch (err) {
      throw toStoreError("GetItem(run)", err);
    }
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = unmarshall(item);
    const record = rest as RunRecord;
    // TTL deletes expired items only eventually (typically within days): an expired run is gone.
    if (this.table.isExpired(record.expiresAt)) return undefined;
    return record;
  }

  /**
   * Change fields of an existing run item and bump `updatedAt`.
   * @throws RunNotFoundError when there is no such run (the update is conditional: no stray item is created).
   */
  async update(runId: string, patch: RunPatch): Promise<void> {
    const values: Record<string, unknown> = { ":u": new Date(this.table.now()).toISOString() };
    const names: Record<string, string> = { "#updatedAt": "updatedAt" };
    const sets = ["#updatedAt = :u"];
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: runPk(runId) }, sk: { S: RUN_SK } },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new RunNotFoundError(runId);
      throw toStoreError("UpdateItem(run)", err);
    }
  }

  /**
   * The run item merged with its log's last event, or undefined when there is no such run. An
   * item from before runs named their agent shows {@link LEGACY_AGENT} and no stages.
   */
  async view(runId: string): Promise<RunView | undefined> {
    const [record, last] = await Promise.all([this.get(runId), this.#events.last(runId)]);
    if (!record) return undefined;
    return {
      ...record,
      agent: record.agent ?? LEGACY_AGENT,
      stages: record.stages ?? [],
      // The log is the truth: a terminal event decides the status even if the item lags.
      status: last && isTerminalType(last.type) ? STATUS_OF_TERMINAL[last.type] : record.status,
      ...(last?.stage === undefined ? {} : { stage: last.stage }),
      progress: last?.progress ?? 0,
      lastSeq: last?.seq ?? 0,
      ...(last === undefined ? {} : { message: last.message }),
    };
  }
}
