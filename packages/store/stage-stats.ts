import { QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { statsAttributes, statsDaySk, statsPk } from "./keys.ts";
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

/**
 * By stage name, for each stage asked about that at least one earlier run of the agent
 * completed in the last {@link STAGE_STATS_DAYS} days.
 */
export type StageEstimates = Partial<Record<string, StageEstimate>>;

/**
 * The stage-duration statistics: per agent and UTC day, how many attempts of each stage
 * completed and their total duration, across every caller's runs. Items expire on their own
 * TTL (a day after the window that reads them), not the table's retention.
 */
export class StageStats {
  readonly table: Table;

  constructor(table: Table) {
    this.table = table;
  }

  /**
   * Add one completed stage attempt to the agent's statistics item of today
   * (`pk = STATS#AGENT#<agent>`, `sk = DAY#YYYY-MM-DD`, attributes `<stage>Runs` and
   * `<stage>Ms`; keys.ts builds them). An atomic `ADD`, so concurrent stages never lose a count
   * and nothing is read first. One item per agent and day takes all its runs' writes: DynamoDB
   * allows 1,000 write units per second per partition (DynamoDB quotas), about 160 runs per
   * second of a six-stage agent. The item expires (TTL) a day after the window that reads it.
   * @param agent the name of the agent whose stage it is.
   * @param stage the stage's name (a plain identifier, see STAGE_NAME_PATTERN).
   * @param durationMs the attempt's duration (ms), as in its stage.completed event.
   * @throws StoreUnavailableError when DynamoDB fails (callers treat statistics as best effort).
   */
  async record(agent: string, stage: string, durationMs: number): Promise<void> {
    const attributes = statsAttributes(stage);
    const now = this.table.now();
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: { pk: { S: statsPk(agent) }, sk: { S: statsDaySk(now) } },
          UpdateExpression: "ADD #runs :one, #ms :ms SET expiresAt = :ttl",
          ExpressionAttributeNames: { "#runs": attributes.runs, "#ms": attributes.ms },
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
   * Mean durations of an agent's stages over the last {@link STAGE_STATS_DAYS} days (one Query
   * of at most that many small items): what clients estimate a run's remaining time from.
   * @param agent the agent's name.
   * @param stageNames the stages to report (a run's stage list); others in the items are ignored.
   * @throws StoreUnavailableError when DynamoDB fails.
   */
  async estimates(agent: string, stageNames: readonly string[]): Promise<StageEstimates> {
    const now = this.table.now();
    let items: Array<Record<string, { N?: string }>>;
    try {
      const out = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": { S: statsPk(agent) },
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
    for (const stage of stageNames) {
      const attributes = statsAttributes(stage);
      let runs = 0;
      let ms = 0;
      for (const item of items) {
        runs += Number(item[attributes.runs]?.N ?? 0);
        ms += Number(item[attributes.ms]?.N ?? 0);
      }
      if (runs > 0) estimates[stage] = { runs, meanMs: Math.round(ms / runs) };
    }
    return estimates;
  }
}
