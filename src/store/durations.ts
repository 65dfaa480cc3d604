/**
 * Run time percentiles per task name (the `duration_by_task_name` extension of stats): the median and the 95th
 * percentile of `finished_at − started_at` over the completed runs that match the stats filters, in one grouped
 * query whatever the number of names.
 *
 * - PostgreSQL: `percentile_cont` over every matching run (exact).
 * - MySQL/MariaDB and SQLite have no percentile aggregate. Both have window functions, so the same figures
 *   (linear interpolation between the two nearest ranks, as `percentile_cont`) are computed in SQL over the latest
 *   {@link DURATION_SAMPLE_SIZE} runs of each name (by `finished_at`), which bounds the sort per name; the answer
 *   says `sampled: true` when a name has more runs than that. Only the (at most four) rows around each percentile's
 *   rank leave the database.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { TaskStatus } from '../status.js';
import type { DurationFigures, ExecutionFilters } from '../types.js';
import type { SqlDialect } from './dialect.js';
import { applyFilters } from './filters.js';
import type { Database } from './schema.js';

/** Runs per task name the MySQL/MariaDB and SQLite percentiles are computed over: the latest ones. */
export const DURATION_SAMPLE_SIZE = 10_000;

const COMPLETED = [...TaskStatus.completed];
/** In percent: ranks are computed in integer arithmetic, the same in SQL and here (no float rounding at a rank edge). */
const PERCENTILES = { p50: 50, p95: 95 } as const;

/** Seconds between `started_at` and `finished_at`, as a float, in the dialect's date arithmetic. */
function durationSeconds(dialect: SqlDialect): RawBuilder<number> {
  if (dialect.name === 'postgres') return sql<number>`extract(epoch from (finished_at - started_at))::float8`;
  if (dialect.name === 'mysql') return sql<number>`timestampdiff(microsecond, started_at, finished_at) / 1000000.0`;
  // ISO text: julianday keeps about 50 µs, so round to the millisecond the timestamps hold.
  return sql<number>`round((julianday(finished_at) - julianday(started_at)) * 86400000.0) / 1000.0`;
}

/**
 * `duration_by_task_name`: p50, p95 and count of the completed runs (with a start and an end) matching `filters`, by
 * task name. One query on every dialect.
 */
export async function durationsByTaskName(
  db: Kysely<Database>,
  dialect: SqlDialect,
  filters: ExecutionFilters,
  sampleSize = DURATION_SAMPLE_SIZE,
): Promise<Record<string, DurationFigures>> {
  const completed = applyFilters(db.selectFrom('agentcore_task_execution'), filters, dialect)
    .where('status', 'in', COMPLETED)
    .where('started_at', 'is not', null)
    .where('finished_at', 'is not', null);
  const duration = durationSeconds(dialect);
  const out: Record<string, DurationFigures> = {};

  if (dialect.name === 'postgres') {
    const rows = await completed
      .select([
        'task_name',
        sql<string>`count(*)`.as('count'),
        sql<number>`percentile_cont(${sql.lit(PERCENTILES.p50 / 100)}) within group (order by ${duration})`.as('p50'),
        sql<number>`percentile_cont(${sql.lit(PERCENTILES.p95 / 100)}) within group (order by ${duration})`.as('p95'),
      ])
      .groupBy('task_name')
      .execute();
    for (const r of rows) out[r.task_name] = { p50: Number(r.p50), p95: Number(r.p95), count: Number(r.count) };
    return out;
  }

  // The latest `sampleSize` runs of each name, then their ranks by duration.
  const latest = completed.select([
    'task_name',
    duration.as('d'),
    sql<number>`row_number() over (partition by task_name order by finished_at desc, id desc)`.as('recent'),
    sql<number>`count(*) over (partition by task_name)`.as('total'),
  ]);
  const ranked = db
    .selectFrom(latest.as('latest'))
    .where('recent', '<=', sampleSize)
    .select([
      'task_name',
      'd',
      'total',
      sql<number>`row_number() over (partition by task_name order by d)`.as('rn'),
      sql<number>`count(*) over (partition by task_name)`.as('cnt'),
    ]);
  // Ranks are 1-based; percentile p lies between ranks ⌊p·(n−1)⌋+1 and the next one (integer division: `div` on
  // MySQL, `/` of two integers on SQLite).
  const div = sql.raw(dialect.name === 'mysql' ? 'div' : '/');
  const near = (percent: number) => {
    const lower = sql`(${sql.lit(percent)} * (cnt - 1)) ${div} 100`;
    return sql<boolean>`(rn = ${lower} + 1 or rn = ${lower} + 2)`;
  };
  const rows = await db
    .selectFrom(ranked.as('ranked'))
    .where((eb) => eb.or([near(PERCENTILES.p50), near(PERCENTILES.p95)]))
    .select(['task_name', 'd', 'total', 'rn', 'cnt'])
    .execute();
  const byName = new Map<string, { total: number; n: number; values: Map<number, number> }>();
  for (const r of rows) {
    const entry = byName.get(r.task_name) ?? { total: Number(r.total), n: Number(r.cnt), values: new Map() };
    byName.set(r.task_name, entry);
    entry.values.set(Number(r.rn), Number(r.d));
  }
  for (const [name, { total, n, values }] of byName) {
    const at = (percent: number) => {
      const lower = Math.floor((percent * (n - 1)) / 100);
      const fraction = ((percent * (n - 1)) % 100) / 100;
      const low = values.get(lower + 1) ?? 0;
      const high = values.get(lower + 2) ?? low;
      return low + (high - low) * fraction;
    };
    out[name] = {
      p50: at(PERCENTILES.p50),
      p95: at(PERCENTILES.p95),
      count: total,
      ...(total > n ? { sampled: true as const } : {}),
    };
  }
  return out;
}
