import { readFile } from "node:fs/promises";
import { defineTool } from "stagecast";
import { z } from "zod";

/** The bundled sales data, next to this module: `month,region,product,units,revenue`. */
const SALES_CSV = new URL("./sales.csv", import.meta.url);

/** One line of sales.csv, with the quarter its month falls in. */
export interface SaleRow {
  /** `YYYY-MM`. */
  month: string;
  /** `Q1` … `Q4`, from the month. */
  quarter: string;
  region: string;
  product: string;
  units: number;
  revenue: number;
}

/** The columns sales.csv must have, in this order. */
const COLUMNS = ["month", "region", "product", "units", "revenue"] as const;

/**
 * Parse sales.csv: a header line, then one sale per line, comma-separated. The file is ours and
 * plain (no quoted fields, no commas inside a value), so splitting on commas is all it takes.
 * @throws Error naming the line when the header, a column count, a month or a number is wrong.
 */
export function parseSales(text: string): SaleRow[] {
  const [header, ...lines] = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (header?.trim() !== COLUMNS.join(",")) throw new Error(`sales.csv: the header must be ${COLUMNS}`);
  return lines.map((line, i) => {
    const where = `sales.csv line ${i + 2}`;
    const cells = line.split(",").map((cell) => cell.trim());
    if (cells.length !== COLUMNS.length) throw new Error(`${where}: ${cells.length} columns, not 5`);
    const [month = "", region = "", product = "", units = "", revenue = ""] = cells;
    const monthNumber = /^\d{4}-(\d{2})$/.exec(month)?.[1];
    if (!monthNumber || Number(monthNumber) < 1 || Number(monthNumber) > 12) {
      throw new Error(`${where}: month "${month}" is not YYYY-MM`);
    }
    const row = {
      month,
      quarter: `Q${Math.ceil(Number(monthNumber) / 3)}`,
      region,
      product,
      units: Number(units),
      revenue: Number(revenue),
    };
    if (!Number.isFinite(row.units) || !Number.isFinite(row.revenue))
      throw new Error(`${where}: not a number`);
    return row;
  });
}

/** What `query_sales` takes: how to group, what to add up, and optionally one quarter. */
export const SalesQuery = z.object({
  groupBy: z.enum(["region", "product", "month"]),
  metric: z.enum(["revenue", "units"]),
  // null or absent: every quarter in the data.
  quarter: z.enum(["Q1", "Q2"]).nullish(),
});

/** A `query_sales` input. */
export type SalesQuery = z.infer<typeof SalesQuery>;

/** What `query_sales` returns: the query, then the metric's total per group (groups sorted by name). */
export interface SalesTotals {
  groupBy: SalesQuery["groupBy"];
  metric: SalesQuery["metric"];
  quarter: "Q1" | "Q2" | "all";
  /** How many lines of the data were added up. */
  rows: number;
  totals: Record<string, number>;
}

/** Add up `query.metric` per `query.groupBy` over the rows of `query.quarter` (all when absent). */
export function totalSales(rows: readonly SaleRow[], query: SalesQuery): SalesTotals {
  const picked = rows.filter((row) => !query.quarter || row.quarter === query.quarter);
  const totals: Record<string, number> = {};
  for (const row of [...picked].sort((a, b) => a[query.groupBy].localeCompare(b[query.groupBy]))) {
    const group = row[query.groupBy];
    totals[group] = (totals[group] ?? 0) + row[query.metric];
  }
  return {
    groupBy: query.groupBy,
    metric: query.metric,
    quarter: query.quarter ?? "all",
    rows: picked.length,
    totals,
  };
}

/**
 * `query_sales`: totals of the bundled sales data per region, product or month. It reads the
 * file on every call (40 lines), so it keeps nothing between runs.
 */
export const querySales = defineTool({
  name: "query_sales",
  description:
    "Total the sales data (months 2025-01 to 2025-06, regions North/South/West, products Widget/Gadget) " +
    "per region, product or month: revenue (USD) or units, for one quarter (Q1, Q2) or all.",
  input: SalesQuery,
  timeoutMs: 2000,
  run: async (query, ctx) =>
    totalSales(parseSales(await readFile(SALES_CSV, { encoding: "utf8", signal: ctx.signal })), query),
});
