import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DynaliteHandle } from "../../../local/stack/dynalite.ts";
import { RunExistsError, RunNotFoundError, StoreError } from "../../../packages/store/errors.ts";
import { ensureTable, openStore, type Store } from "../../../packages/store/index.ts";
import { runPk } from "../../../packages/store/keys.ts";
import { startTestDynamo } from "../../support/dynamo.ts";
import { completed, partitionItems, progress } from "../../support/store-events.ts";

const TABLE = "stagecast-test";
const RETENTION = 7 * 24 * 3600;

let dynalite: DynaliteHandle;
let client: DynamoDBClient;
let store: Store;

beforeAll(async () => {
  ({ dynalite, client, store } = await startTestDynamo(TABLE, RETENTION));
  // A second call must be a no-op on an existing table.
  await ensureTable(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

/** Every raw item under a partition key. */
const rawItems = (pk: string) => partitionItems(client, TABLE, pk);

describe("run items", () => {
  it("runs.create then runs.get returns the record", async () => {
    const runId = ulid();
    const created = await store.runs.create(runId, { question: "Why is the sky blue?", projectId: "p1" });
    expect(created).toMatchObject({
      runId,
      status: "queued",
      question: "Why is the sky blue?",
      projectId: "p1",
    });
    expect(created.createdAt).toBe(created.updatedAt);
    expect(new Date(created.createdAt).toISOString()).toBe(created.createdAt);
    expect(await store.runs.get(runId)).toEqual(created);
  });

  it("runs.create without projectId stores no projectId", async () => {
    const runId = ulid();
    await store.runs.create(runId, { question: "q" });
    const got = await store.runs.get(runId);
    expect(got).toBeDefined();
    expect(got && "projectId" in got).toBe(false);
  });

  it("runs.get of an unknown run is undefined", async () => {
    expect(await store.runs.get(ulid())).toBeUndefined();
  });

  it("runs.create twice → RunExistsError and the first record is kept", async () => {
    const runId = ulid();
    const first = await store.runs.create(runId, { question: "first" });
    await expect(store.runs.create(runId, { question: "second" })).rejects.toBeInstanceOf(RunExistsError);
    const err = await store.runs.create(runId, { question: "third" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as RunExistsError).runId).toBe(runId);
    expect(await store.runs.get(runId)).toEqual(first);
  });

  it("runs.update changes fields and bumps updatedAt", async () => {
    let now = Date.UTC(2025, 5, 1, 12, 0, 0);
    const clocked = openStore({
      client,
      tableName: TABLE,
      retentionSeconds: RETENTION,
      now: () => now,
    });
    const runId = ulid();
    const created = await clocked.runs.create(runId, { question: "q" });
    now += 5000;
    await clocked.runs.update(runId, {
      status: "failed",
      executionArn: "arn:aws:states:us-east-1:123456789012:execution:sm:x",
      error: { code: "boom", message: "It broke." },
    });
    const got = await clocked.runs.get(runId);
    expect(got).toEqual({
      ...created,
      status: "failed",
      executionArn: "arn:aws:states:us-east-1:123456789012:execution:sm:x",
      error: { code: "boom", message: "It broke." },
      updatedAt: new Date(now).toISOString(),
    });
  });

  it("runs.update on a missing run → RunNotFoundError and creates nothing", async () => {
    const runId = ulid();
    const err = await store.runs.update(runId, { status: "running" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunNotFoundError);
    expect((err as RunNotFoundError).runId).toBe(runId);
    expect(await store.runs.get(runId)).toBeUndefined();
    expect(await rawItems(runPk(runId))).toHaveLength(0);
  });

  it("runs.view merges the run item with the last event", async () => {
    const runId = ulid();
    expect(await store.runs.view(runId)).toBeUndefined();
    await store.runs.create(runId, { question: "q" });
    expect(await store.runs.view(runId)).toMatchObject({ runId, progress: 0, lastSeq: 0 });
    const log = store.events.log(runId);
    await log.append(progress("one", 5));
    await log.append(progress("two", 20));
    expect(await store.runs.view(runId)).toMatchObject({
      runId,
      status: "queued",
      stage: "analyzing",
      progress: 20,
      lastSeq: 2,
      message: "two",
    });
    // The log is the truth: a terminal event decides the status even while the item still says queued.
    await log.append(completed);
    expect((await store.runs.get(runId))?.status).toBe("queued");
    expect(await store.runs.view(runId)).toMatchObject({ status: "completed", progress: 100, lastSeq: 3 });
  });
});
