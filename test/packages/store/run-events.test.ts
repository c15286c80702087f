import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ulid } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DynaliteHandle } from "../../../local/stack/dynalite.ts";
import type { EventInput, RunEvent } from "../../../packages/events/index.ts";
import { InvalidEventError, ItemTooLargeError, RunFinishedError } from "../../../packages/store/errors.ts";
import { openStore, type Store } from "../../../packages/store/index.ts";
import { projectPk, runPk } from "../../../packages/store/keys.ts";
import { startTestDynamo } from "../../support/dynamo.ts";
import { completed, failed, partitionItems, progress } from "../../support/store-events.ts";

const TABLE = "stagecast-test";
const RETENTION = 7 * 24 * 3600;

let dynalite: DynaliteHandle;
let client: DynamoDBClient;
let store: Store;

beforeAll(async () => {
  ({ dynalite, client, store } = await startTestDynamo(TABLE, RETENTION));
});

afterAll(async () => {
  client?.destroy();
  await dynalite?.close();
});

/** Every event of a run, paging through events.read. */
async function readAll(runId: string, pageSize = 1000): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for (;;) {
    const page = await store.events.read(runId, all.at(-1)?.seq ?? 0, pageSize);
    all.push(...page.events);
    if (!page.hasMore) return all;
  }
}

/** Every raw item under a partition key. */
const rawItems = (pk: string) => partitionItems(client, TABLE, pk);

function expectDense(events: RunEvent[], n: number): void {
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

describe("run log", () => {
  it("appends get seq 1..N with runId and ts, and read back equal", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    const appended: RunEvent[] = [];
    for (let i = 0; i < 12; i++) appended.push(await log.append(progress(`step ${i}`, i)));
    expectDense(appended, 12);
    for (const e of appended) {
      expect(e.runId).toBe(runId);
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
    }
    expect(log.last).toEqual(appended.at(-1));
    expect(await readAll(runId)).toEqual(appended);
  });

  it("appends from one log are serialized in call order even when not awaited one by one", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    const results = await Promise.all(Array.from({ length: 15 }, (_, i) => log.append(progress(`m${i}`))));
    expect(results.map((e) => e.message)).toEqual(Array.from({ length: 15 }, (_, i) => `m${i}`));
    expectDense(results, 15);
  });

  it("a fresh log continues after the existing tail", async () => {
    const runId = ulid();
    await store.events.log(runId).append(progress("a"));
    await store.events.log(runId).append(progress("b"));
    const third = await store.events.log(runId).append(progress("c"));
    expect(third.seq).toBe(3);
    expect((await readAll(runId)).map((e) => e.message)).toEqual(["a", "b", "c"]);
  });

  it("events.read(after, limit) pages correctly and hasMore behaves", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    for (let i = 1; i <= 25; i++) await log.append(progress(`e${i}`));

    const p1 = await store.events.read(runId, 0, 10);
    expect(p1.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(p1.hasMore).toBe(true);

    const p2 = await store.events.read(runId, 10, 10);
    expect(p2.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(p2.hasMore).toBe(true);

    const p3 = await store.events.read(runId, 20, 10);
    expect(p3.events.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(p3.hasMore).toBe(false);

    // Default limit, arbitrary cursor.
    const rest = await store.events.read(runId, 7);
    expect(rest.events.map((e) => e.seq)).toEqual(Array.from({ length: 18 }, (_, i) => i + 8));
    expect(rest.hasMore).toBe(false);

    // At or past the tail: empty, no more.
    expect(await store.events.read(runId, 25)).toEqual({ events: [], hasMore: false });
    expect(await store.events.read(runId, 1000)).toEqual({ events: [], hasMore: false });
    expect(await store.events.read(runId, 9_999_999_999)).toEqual({ events: [], hasMore: false });

    // A limit below 1 is clamped to 1.
    const one = await store.events.read(runId, 3, 0);
    expect(one.events.map((e) => e.seq)).toEqual([4]);
    expect(one.hasMore).toBe(true);

    // Paging with an odd page size visits every event exactly once.
    expectDense(await readAll(runId, 7), 25);
    expectDense(await readAll(runId, 1), 25);
  });

  it("events.read of an unknown run is empty and does not see the run item", async () => {
    const runId = ulid();
    expect(await store.events.read(runId, 0)).toEqual({ events: [], hasMore: false });
    await store.runs.create(runId, { question: "q" });
    expect(await store.events.read(runId, 0)).toEqual({ events: [], hasMore: false });
    expect(await store.events.last(runId)).toBeUndefined();
  });

  it("events.last is the newest event", async () => {
    const runId = ulid();
    await store.runs.create(runId, { question: "q" });
    const log = store.events.log(runId);
    let last: RunEvent | undefined;
    for (let i = 0; i < 11; i++) last = await log.append(progress(`e${i}`, i * 5));
    expect(last?.seq).toBe(11);
    expect(await store.events.last(runId)).toEqual(last);
  });

  it("every run and event item has a numeric expiresAt = now + retention", async () => {
    const now = Date.UTC(2025, 6, 1, 0, 0, 0, 999);
    const clocked = openStore({ client, tableName: TABLE, retentionSeconds: 3600, now: () => now });
    const runId = ulid();
    await clocked.runs.create(runId, { question: "q", projectId: "ttl-project" });
    const log = clocked.events.log(runId);
    for (let i = 0; i < 4; i++) await log.append(progress(`e${i}`));
    await log.append(completed);
    await clocked.memories.put({
      projectId: "ttl-project",
      runId,
      ts: new Date(now).toISOString(),
      summary: "s",
    });

    const expected = Math.floor(now / 1000) + 3600;
    const items = [
      ...(await rawItems(runPk(runId))),
      ...(await rawItems(projectPk("anonymous", "ttl-project"))),
    ];
    expect(items).toHaveLength(1 + 5 + 1);
    for (const item of items) {
      expect(item.expiresAt?.N, JSON.stringify(item.sk)).toBeDefined();
      expect(Number(item.expiresAt?.N)).toBe(expected);
    }
    const record = await clocked.runs.get(runId);
    expect(record?.expiresAt).toBe(expected);
    expect(typeof record?.expiresAt).toBe("number");
  });

  it("CONCURRENT appenders: 5 logs × 20 events → exactly 100 dense, unique events, none lost", async () => {
    const runId = ulid();
    await store.runs.create(runId, { question: "q" });
    const writers = 5;
    const perWriter = 20;
    const logs = Array.from({ length: writers }, () => store.events.log(runId));
    const results = await Promise.all(
      logs.flatMap((log, w) =>
        Array.from({ length: perWriter }, (_, i) => log.append(progress(`w${w}-${i}`))),
      ),
    );

    // Every append resolved with its own seq.
    expect(new Set(results.map((e) => e.seq)).size).toBe(writers * perWriter);

    const events = await readAll(runId);
    expect(events).toHaveLength(writers * perWriter);
    expectDense(events, writers * perWriter);
    expect(new Set(events.map((e) => e.message)).size).toBe(writers * perWriter);
    // What was acknowledged is exactly what is stored.
    expect([...results].sort((a, b) => a.seq - b.seq)).toEqual(events);

    for (let w = 0; w < writers; w++) {
      const mine = events.filter((e) => e.message.startsWith(`w${w}-`));
      // All of this writer's events are present, in its call order.
      expect(mine.map((e) => e.message)).toEqual(Array.from({ length: perWriter }, (_, i) => `w${w}-${i}`));
    }
    expect((await store.events.last(runId))?.seq).toBe(writers * perWriter);
  });

  it("after a terminal event, appends from the same log and a fresh log reject with RunFinishedError", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    await log.append(progress("a"));
    await log.append(progress("b"));
    const end = await log.append(completed);
    expect(end.seq).toBe(3);

    const e1 = await log.append(progress("late")).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RunFinishedError);
    expect((e1 as RunFinishedError).terminalType).toBe("run.completed");
    expect((e1 as RunFinishedError).runId).toBe(runId);
    await expect(log.append(failed)).rejects.toBeInstanceOf(RunFinishedError);

    const fresh = store.events.log(runId);
    await expect(fresh.append(progress("late too"))).rejects.toBeInstanceOf(RunFinishedError);
    await expect(store.events.log(runId).append(failed)).rejects.toBeInstanceOf(RunFinishedError);

    const events = await readAll(runId);
    expect(events).toHaveLength(3);
    expect(events.at(-1)?.type).toBe("run.completed");
  });

  it("a stale log (synced before the end) cannot append after another log's terminal event", async () => {
    const runId = ulid();
    const stale = store.events.log(runId);
    await stale.append(progress("a"));
    await store.events.log(runId).append(failed);
    await expect(stale.append(progress("after the end"))).rejects.toBeInstanceOf(RunFinishedError);
    const events = await readAll(runId);
    expect(events.map((e) => e.type)).toEqual(["stage.progress", "run.failed"]);
  });

  it("two concurrent terminal appends from two logs → exactly one succeeds", async () => {
    for (let round = 0; round < 5; round++) {
      const runId = ulid();
      const a = store.events.log(runId);
      const b = store.events.log(runId);
      if (round % 2 === 1) {
        // Both logs already know the tail, so both race for the same seq.
        await a.append(progress("warm-up"));
        await b.sync();
      }
      const settled = await Promise.allSettled([a.append(completed), b.append(failed)]);
      const ok = settled.filter((s) => s.status === "fulfilled");
      const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
      expect(ok).toHaveLength(1);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.reason).toBeInstanceOf(RunFinishedError);

      const events = await readAll(runId);
      const terminal = events.filter((e) => e.type === "run.completed" || e.type === "run.failed");
      expect(terminal).toHaveLength(1);
      expect(events.at(-1)).toEqual(ok[0]?.status === "fulfilled" ? ok[0].value : undefined);
    }
  });

  it("an invalid event rejects with InvalidEventError and writes nothing; the log stays usable", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    await expect(log.append(progress("too far", 200))).rejects.toBeInstanceOf(InvalidEventError);
    await expect(
      log.append({ type: "stage.started", progress: 1, message: "x", data: { index: 0, total: 0 } }),
    ).rejects.toBeInstanceOf(InvalidEventError);
    expect(await rawItems(runPk(runId))).toHaveLength(0);
    expect(await store.events.last(runId)).toBeUndefined();

    const ok = await log.append(progress("fine"));
    expect(ok.seq).toBe(1);
    expect((await readAll(runId)).map((e) => e.message)).toEqual(["fine"]);
  });

  it("an oversized event rejects with ItemTooLargeError and writes nothing", async () => {
    const runId = ulid();
    const log = store.events.log(runId);
    const big: EventInput = {
      type: "llm.delta",
      progress: 10,
      message: "big",
      data: { text: "x".repeat(400_000) },
    };
    await expect(log.append(big)).rejects.toBeInstanceOf(ItemTooLargeError);
    expect(await rawItems(runPk(runId))).toHaveLength(0);
  });
});
