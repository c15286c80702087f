import { QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { STAGES, type Stage } from "../events/index.ts";
import { STATS_PK, statsDaySk } from "./keys.ts";
import { toStoreError } from "./sdk-errors.ts";
import type { Table } from "./table.ts";

/** Days of history an estimate draws on: recent enough to follow a model or prompt change. */
export const STAGE_STATS_DAYS = 7;

const DAY_MS = 86_400_000;

/** How long earlier runs' stages took: completed attempts and their mean duration (ms). */
export interface StageEstimate {
  runs: number;
  meanMs: number;
}

/** Per stage, when at least one earlier run completed it in the last {@link STAGE_STATS_DAYS} days. */
export type StageEstimates = Partial<Record<Stage, StageEstimate>>;

/**
 * The stage-duration statistics: per UTC day, how many attempts of each stage completed and
 * their total duration, across every caller's runs. Items expire on their own TTL (a day after
 * the window that reads them), not the table's retention.
 */
export class StageStats {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /**
   * Add one completed stage attempt to today's statistics item (`pk = STATS#STAGES`,
   * `sk = DAY#YYYY-MM-DD`, attributes `<stage>Runs` and `<stage>Ms`). An atomic `ADD`, so
   * concurrent stages never lose a count and nothing is read first. One item per day takes
   * every run's writes: DynamoDB allows 1,000 write units per second per partition (DynamoDB
   * quotas), about 160 runs per second of six stages. The item expires (TTL) a day after the
   * window that reads it.
   * @param durationMs the attempt's duration (ms), as in its stage.completed event.
   * @throws StoreUnavailableError when DynamoDB fails (callers treat statistics as best effort).
   */
  async record(stage: Stage, durationMs: number): Promise<void> {
    const now = this.table.now();
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: STATS_PK }, sk: { S: statsDaySk(now) } },
          UpdateExpression: "ADD #runs :one, #ms :ms SET expiresAt = :ttl",
          ExpressionAttributeNames: { "#runs": `${stage}Runs`, "#ms": `${stage}Ms` },
          ExpressionAttributeValues: {
            ":one": { N: "1" },
            ":ms": { N: String(Math.max(0, Math.round(durationMs))) },
            ":ttl": { N: String(Math.floor(now / 1000) + (STAGE_STATS_DAYS + 1) * 86_400) },
          },
        }),
      );
    } catch (err) {
      throw toStoreError("UpdateItem(stage stats)", err);
    }
  }

  /**
   * Mean stage durations over the last {@link STAGE_STATS_DAYS} days (one Query of at most that
   * many small items): what clients estimate a run's remaining time from.
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async estimates(): Promise<StageEstimates> {
    const now = this.table.now();
    let items: Array<Record<string, { N?: string }>>;
    try {
      const out = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": { S: STATS_PK },
            ":from": { S: statsDaySk(now - (STAGE_STATS_DAYS - 1) * DAY_MS) },
            ":to": { S: statsDaySk(now) },
          },
        }),
      );
      items = (out.Items ?? []) as typeof items;
    } catch (err) {
      throw toStoreError("Query(stage stats)", err);
    }
    const estimates: StageEstimates = {};
    for (const stage of STAGES) {
      let runs = 0;
      let ms = 0;
      for (const item of items) {
        runs += Number(item[`${stage}Runs`]?.N ?? 0);
        ms += Number(item[`${stage}Ms`]?.N ?? 0);
      }
      if (runs > 0) estimates[stage] = { runs, meanMs: Math.round(ms / runs) };
    }
    return estimates;
  }
}
