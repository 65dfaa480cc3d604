/**
 * Recounting the aggregates from the execution table, online: for recovery, after rows were written with the triggers
 * off (MySQL `TRUNCATE`, a restore, `session_replication_role = replica`), and as the migration's backfill.
 *
 * The table is walked in `created_at` order in chunks of about `batchSize` runs, cut on whole UTC hours. Each chunk is
 * one short transaction that first stops writers from changing runs of its hours, then replaces the chunk's hourly rows
 * with a `count(*) … group by` of those runs. Triggers keep every hour exact once its chunk is done (a run that moves
 * between hours moves its count with it). Last, one short transaction recomputes the daily and all-time rows from the
 * (now exact) hourly ones. Writers wait at most one chunk; readers never wait. What "stop writers" means:
 *
 * - PostgreSQL: `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` (blocks writes, not reads; two rebuilds take turns).
 * - MySQL/MariaDB: a locking read of the chunk's `created_at` index range under REPEATABLE READ: next-key locks keep
 *   runs from being inserted into, changed in or moved out of the range until commit; other hours stay writable.
 * - SQLite: `BEGIN IMMEDIATE` (SQLite has one writer anyway).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DialectName } from '../dialect.js';
import { EXECUTION_TABLE } from '../schema.js';
import { MYSQL_CREATOR, MYSQL_HOUR } from './mysql.js';
import { PG_CREATOR, PG_HOUR } from './postgres.js';
import { SQLITE_CREATOR, SQLITE_HOUR } from './sqlite.js';
import { STATS_TABLE } from './table.js';

const HOUR = 3_600_000;
/** Runs per chunk by default: a chunk's transaction (and so a writer's longest wait) stays around 100 ms. */
export const DEFAULT_REBUILD_BATCH_SIZE = 20_000;

const EXPRESSIONS: Record<DialectName, { hour: string; creator: string }> = {
  postgres: { hour: PG_HOUR, creator: PG_CREATOR },
  mysql: { hour: MYSQL_HOUR, creator: MYSQL_CREATOR },
  sqlite: { hour: SQLITE_HOUR, creator: SQLITE_CREATOR },
};

export interface RebuildOptions {
  /** Runs per chunk (one transaction). @defaultValue `20000` */
  batchSize?: number;
  /** Called with the number of runs counted so far and the total, after each chunk. */
  onProgress?: (counted: number, total: number) => void;
}

export interface RebuildResult {
  /** Runs counted. */
  runs: number;
  /** Chunks (transactions) it took. */
  chunks: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the aggregate and execution tables, used through raw SQL.
type AnyDb = Kysely<any>;

/**
 * Recounts `agentcore_task_stats` from `agentcore_task_execution`; see the file comment for how it stays exact while
 * writers run. `db` may be a transaction (the PostgreSQL migration): then every chunk runs in it.
 */
export async function rebuildAggregates(
  db: AnyDb,
  dialect: DialectName,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH_SIZE;
  const { hour, creator } = EXPRESSIONS[dialect];
  const toDb = (d: Date) => (dialect === 'sqlite' ? d.toISOString() : d);
  const total = Number(
    (await sql<{ n: number | string }>`select count(*) as n from ${sql.table(EXECUTION_TABLE)}`.execute(db)).rows[0]
      ?.n ?? 0,
  );
  let counted = 0;
  let chunks = 0;
  let from: Date | undefined;
  for (;;) {
    // The chunk ends after the hour of the run `batchSize` places on (or never, for the last chunk).
    const after = from ? sql`where created_at >= ${toDb(from)}` : sql``;
    const { rows } = await sql<{ created_at: Date | string }>`select created_at from ${sql.table(EXECUTION_TABLE)}
      ${after} order by created_at limit 1 offset ${batchSize}`.execute(db);
    const edge = rows[0] ? new Date(rows[0].created_at) : undefined;
    const to =
      edge && !Number.isNaN(edge.getTime()) ? new Date(Math.floor(edge.getTime() / HOUR) * HOUR + HOUR) : undefined;
    const range = sql.join(
      [sql`1 = 1`, ...(from ? [sql`created_at >= ${toDb(from)}`] : []), ...(to ? [sql`created_at < ${toDb(to)}`] : [])],
      sql` and `,
    );
    const buckets = sql.join(
      [
        sql`grain = 'h'`,
        ...(from ? [sql`bucket >= ${from.toISOString().slice(0, 13)}`] : []),
        ...(to ? [sql`bucket < ${to.toISOString().slice(0, 13)}`] : []),
      ],
      sql` and `,
    );
    counted += await locked(db, dialect, async (trx) => {
      if (dialect === 'mysql') {
        // The count is the locking read: next-key locks on the chunk's `created_at` index range (and on the rows
        // through it, never through another index, which could deadlock with a writer) until commit. Taken before
        // any aggregate row, in the order writers take them (run, then aggregates).
        const { rows: counts } = await sql<{ b: string; c: string; m: string; t: string; s: string; n: number }>`
          select ${sql.raw(hour)} as b, ${sql.raw(creator)} as c, module as m, task_name as t, status as s, count(*) as n
          from ${sql.table(EXECUTION_TABLE)} force index (agentcore_task_execution_created_at) where ${range}
          group by b, c, m, t, s lock in share mode`.execute(trx);
        await sql`delete from ${sql.table(STATS_TABLE)} where ${buckets}`.execute(trx);
        for (let i = 0; i < counts.length; i += 500) {
          const values = counts
            .slice(i, i + 500)
            .map((r) => sql`('h', ${r.b}, ${r.c}, ${r.m}, ${r.t}, ${r.s}, ${r.n})`);
          await sql`insert into ${sql.table(STATS_TABLE)} (grain, bucket, creator, module, task_name, status, n)
            values ${sql.join(values)}`.execute(trx);
        }
        return counts.reduce((sum, r) => sum + Number(r.n), 0);
      }
      await sql`delete from ${sql.table(STATS_TABLE)} where ${buckets}`.execute(trx);
      await sql`insert into ${sql.table(STATS_TABLE)} (grain, bucket, creator, module, task_name, status, n)
        select 'h', ${sql.raw(hour)}, ${sql.raw(creator)}, module, task_name, status, count(*)
        from ${sql.table(EXECUTION_TABLE)} where ${range}
        group by ${sql.raw(hour)}, ${sql.raw(creator)}, module, task_name, status`.execute(trx);
      const { rows: sum } = await sql<{ n: number | string | null }>`select sum(n) as n from ${sql.table(STATS_TABLE)}
        where ${buckets}`.execute(trx);
      return Number(sum[0]?.n ?? 0);
    });
    chunks++;
    options.onProgress?.(counted, Math.max(total, counted));
    if (!to) break;
    from = to;
  }
  // Daily and all-time rows from the hourly ones, with every hour held still.
  await locked(db, dialect, async (trx) => {
    // MySQL/MariaDB: hold every hourly row (writers' triggers upsert their hourly row first).
    if (dialect === 'mysql')
      await sql`select count(*) from ${sql.table(STATS_TABLE)} where grain = 'h' lock in share mode`.execute(trx);
    await sql`delete from ${sql.table(STATS_TABLE)} where grain in ('d', 't')`.execute(trx);
    for (const [grain, bucket] of [
      ['d', sql`substr(bucket, 1, 10)`],
      ['t', sql`''`],
    ] as const) {
      await sql`insert into ${sql.table(STATS_TABLE)} (grain, bucket, creator, module, task_name, status, n)
        select ${grain}, b, creator, module, task_name, status, sum(n) from (
          select ${bucket} as b, creator, module, task_name, status, n from ${sql.table(STATS_TABLE)} where grain = 'h'
        ) as h group by b, creator, module, task_name, status having sum(n) <> 0`.execute(trx);
    }
    return 0;
  });
  return { runs: counted, chunks: chunks + 1 };
}

const DEADLOCK = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', '40P01', 'SQLITE_BUSY']);

/**
 * Runs `fn` in a transaction that holds writers off what it recounts: on PostgreSQL a table lock, on SQLite the write
 * lock; on MySQL/MariaDB `fn` takes its own row locks (under REPEATABLE READ). Retries a few times when the database
 * picked this transaction as a deadlock victim.
 */
async function locked(db: AnyDb, dialect: DialectName, fn: (trx: AnyDb) => Promise<number>): Promise<number> {
  if (db.isTransaction) {
    if (dialect === 'postgres')
      await sql`lock table ${sql.table(EXECUTION_TABLE)} in share row exclusive mode`.execute(db);
    return fn(db);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      if (dialect === 'sqlite') {
        return await db.connection().execute(async (conn) => {
          await sql`begin immediate`.execute(conn);
          try {
            const out = await fn(conn);
            await sql`commit`.execute(conn);
            return out;
          } catch (error) {
            await sql`rollback`.execute(conn);
            throw error;
          }
        });
      }
      if (dialect === 'postgres') {
        return await db.transaction().execute(async (trx: Transaction<unknown>) => {
          await sql`lock table ${sql.table(EXECUTION_TABLE)} in share row exclusive mode`.execute(trx);
          return fn(trx);
        });
      }
      return await db.transaction().setIsolationLevel('repeatable read').execute(fn);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 5 || !code || !DEADLOCK.has(code)) throw error;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
