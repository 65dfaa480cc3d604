/**
 * Stats read from `agentcore_task_stats` instead of the execution table, when the filters allow: module, task name,
 * status and creator are key columns; a date range is covered when its bounds fall on whole UTC hours. Unscoped
 * requests read the rollup rows (`creator = '*'`), so their cost does not depend on the number of creators. Search
 * and metadata filters, a datetime `end_date` (inclusive, so never a bucket edge), and a creator together with dates
 * or a series (per creator there are only all-time rows) are not covered: the caller falls back to the table.
 */
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import type { ExecutionFilters } from '../../types.js';
import type { Granularity } from '../dialect.js';
import { parseDateBound } from '../filters.js';
import { ALL_CREATORS, STATS_TABLE, type StatsTables } from './table.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A row of the counts: runs of one module, task name and status. */
export interface CountRow {
  module: string;
  task_name: string;
  status: string;
  n: number;
}

/** Which aggregate rows hold the runs created in a time range. */
type BucketWhere = (eb: ExpressionBuilder<StatsTables, typeof STATS_TABLE>) => ReturnType<typeof sql<boolean>>;

const hourKey = (d: Date) => d.toISOString().slice(0, 13);
const dayKey = (d: Date) => d.toISOString().slice(0, 10);
/** Within the years whose ISO text is `YYYY-…` (bucket text compares as time only there). */
const plainYear = (d: Date) => d.getUTCFullYear() >= 1000 && d.getUTCFullYear() <= 9999;

/**
 * The `[from, to)` range of the date filters, or `null` when the aggregates cannot answer it exactly: a bound that is
 * not on a whole hour, an inclusive datetime `end_date`, or a year outside 1000–9999.
 */
export function coveredRange(filters: ExecutionFilters): { from?: Date; to?: Date } | null {
  const range: { from?: Date; to?: Date } = {};
  if (filters.startDate !== undefined) range.from = parseDateBound(filters.startDate, 'start_date', false).at;
  if (filters.endDate !== undefined) {
    const { at, exclusive } = parseDateBound(filters.endDate, 'end_date', true);
    if (!exclusive) return null;
    range.to = at;
  }
  for (const bound of [range.from, range.to]) {
    if (bound && (bound.getTime() % HOUR !== 0 || !plainYear(bound))) return null;
  }
  return range;
}

/** `true` when no filter needs the table's other columns. */
function keyFiltersOnly(filters: ExecutionFilters): boolean {
  return (filters.search === undefined || filters.search === '') && Object.keys(filters.metadata ?? {}).length === 0;
}

/**
 * The rows of a `[from, to)` range of hours: whole days from the daily rows, the hours before the first and after the
 * last whole day from the hourly rows; no bounds at all is the all-time rows. A request reads at most 2 × 23 hourly
 * rows per key besides the daily ones.
 */
function bucketsOf({ from, to }: { from?: Date; to?: Date }, scoped: boolean): BucketWhere {
  // `bucket = ''` too: with the grain, the key's prefix, so an index scan reaches the creator's rows directly.
  if (!from && !to) return () => sql<boolean>`(grain = ${scoped ? 'c' : 't'} and bucket = '')`;
  const firstDay = from ? new Date(Math.ceil(from.getTime() / DAY) * DAY) : undefined;
  const endDay = to ? new Date(Math.floor(to.getTime() / DAY) * DAY) : undefined;
  if (from && to && firstDay! >= endDay!) {
    return () => sql<boolean>`(grain = 'h' and bucket >= ${hourKey(from)} and bucket < ${hourKey(to)})`;
  }
  const parts = [
    sql<boolean>`(grain = 'd'${firstDay ? sql` and bucket >= ${dayKey(firstDay)}` : sql``}${endDay ? sql` and bucket < ${dayKey(endDay)}` : sql``})`,
  ];
  if (from && firstDay && from < firstDay)
    parts.push(sql<boolean>`(grain = 'h' and bucket >= ${hourKey(from)} and bucket < ${hourKey(firstDay)})`);
  if (to && endDay && endDay < to)
    parts.push(sql<boolean>`(grain = 'h' and bucket >= ${hourKey(endDay)} and bucket < ${hourKey(to)})`);
  return () => sql<boolean>`(${sql.join(parts, sql` or `)})`;
}

/**
 * The aggregate table with the key filters (module, task name, status, creator) applied; without a creator filter,
 * the rollup rows.
 */
function keyed(db: Kysely<StatsTables>, filters: ExecutionFilters) {
  let q = db.selectFrom(STATS_TABLE);
  if (filters.module !== undefined) q = q.where('module', '=', filters.module);
  if (filters.taskName !== undefined) q = q.where('task_name', '=', filters.taskName);
  if (filters.status !== undefined) q = q.where('status', '=', filters.status);
  const creator =
    filters.createdById === undefined
      ? ALL_CREATORS
      : filters.createdById === null
        ? ''
        : `=${String(filters.createdById)}`;
  return q.where('creator', '=', creator);
}

/** The range the aggregates answer `filters` for, or `null` (see the file comment). */
function coveredAt(filters: ExecutionFilters): { from?: Date; to?: Date } | null {
  if (!keyFiltersOnly(filters)) return null;
  const range = coveredRange(filters);
  if (!range) return null;
  // Per creator only all-time rows exist.
  if (filters.createdById !== undefined && (range.from || range.to)) return null;
  return range;
}

/**
 * The number of runs matching `filters` from the aggregates (one summed read, no grouping), or `null` when the
 * filters are not covered. What a list's count reads.
 */
export async function countFromAggregates(db: Kysely<StatsTables>, filters: ExecutionFilters): Promise<number | null> {
  const range = coveredAt(filters);
  if (!range) return null;
  const row = await keyed(db, filters)
    .where(bucketsOf(range, filters.createdById !== undefined))
    .select(sql<number | string | null>`sum(n)`.as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Counts by module, task name and status from the aggregates, or `null` when the filters are not covered (the caller
 * then counts the table). Reads the all-time rows without date filters, else the daily and edge-hour rows of the range.
 */
export async function countsFromAggregates(
  db: Kysely<StatsTables>,
  filters: ExecutionFilters,
): Promise<CountRow[] | null> {
  const range = coveredAt(filters);
  if (!range) return null;
  const rows = await keyed(db, filters)
    .where(bucketsOf(range, filters.createdById !== undefined))
    .select(['module', 'task_name', 'status', sql<number | string>`sum(n)`.as('n')])
    .groupBy(['module', 'task_name', 'status'])
    .having(sql`sum(n)`, '<>', 0)
    .execute();
  return rows.map((r) => ({ module: r.module, task_name: r.task_name, status: r.status, n: Number(r.n) }));
}

/**
 * The series counts by bucket label (`HH:00`, `YYYY-MM-DD` or `YYYY-MM`) from the aggregates, or `null` when the
 * filters are not covered. `from`/`to` are the series range (whole UTC days, see `seriesRange`): a day series reads
 * its 24 hourly rows per key, month and year series the daily rows.
 */
export async function seriesFromAggregates(
  db: Kysely<StatsTables>,
  filters: ExecutionFilters,
  granularity: Granularity,
  from: Date,
  to: Date,
): Promise<Map<string, number> | null> {
  const byStatus = await seriesByStatusFromAggregates(db, filters, granularity, from, to);
  if (!byStatus) return null;
  const counts = new Map<string, number>();
  for (const [label, statuses] of byStatus) {
    let n = 0;
    for (const count of statuses.values()) n += count;
    counts.set(label, n);
  }
  return counts;
}

/**
 * The series counts by bucket label and status (`label → status → n`), in one grouped query over the same rows as
 * `seriesFromAggregates`; `null` when the filters are not covered. Buckets and statuses with no run are absent.
 */
export async function seriesByStatusFromAggregates(
  db: Kysely<StatsTables>,
  filters: ExecutionFilters,
  granularity: Granularity,
  from: Date,
  to: Date,
): Promise<Map<string, Map<string, number>> | null> {
  // Per creator only all-time rows exist: a scoped series counts the table.
  if (!keyFiltersOnly(filters) || filters.createdById !== undefined || !plainYear(from) || !plainYear(to)) return null;
  const hourly = granularity === 'day';
  const [lo, hi] = hourly ? [hourKey(from), hourKey(to)] : [dayKey(from), dayKey(to)];
  const rows = await keyed(db, filters)
    .where('grain', '=', hourly ? 'h' : 'd')
    .where('bucket', '>=', lo)
    .where('bucket', '<', hi)
    .select(['bucket', 'status', sql<number | string>`sum(n)`.as('n')])
    .groupBy(['bucket', 'status'])
    .execute();
  const counts = new Map<string, Map<string, number>>();
  for (const { bucket, status, n } of rows) {
    const label =
      granularity === 'day' ? `${bucket.slice(11, 13)}:00` : granularity === 'month' ? bucket : bucket.slice(0, 7);
    const statuses = counts.get(label) ?? new Map<string, number>();
    counts.set(label, statuses);
    statuses.set(status, (statuses.get(status) ?? 0) + Number(n));
  }
  return counts;
}
