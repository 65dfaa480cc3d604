/**
 * Recounting the aggregates from the execution table, online: for recovery, after rows were written with the triggers
 * off (MySQL `TRUNCATE`, a restore, `session_replication_role = replica`), and as the migration's backfill.
 *
 * Three passes, each in short transactions that first stop writers from changing the runs they count:
 *
 * 1. The table in `created_at` order, in chunks of about `batchSize` runs cut on whole UTC hours: each chunk replaces
 *    its hours' rollup rows with a `count(*) … group by` of those runs. Triggers keep every hour exact once its chunk
 *    is done (a run that moves between hours moves its count with it).
 * 2. One transaction recomputes the daily and all-time rollups from the (now exact) hourly ones.
 * 3. The creators in `created_by_id` order, in chunks of about `batchSize` runs (one creator's runs never split):
 *    each chunk replaces its creators' all-time rows the same way. The runs without a creator are often most of the
 *    table (runs recorded from queues): on PostgreSQL and SQLite their rows are the all-time rollups minus every
 *    creator's rows, one transaction that reads aggregate rows only; on MySQL/MariaDB they are counted, holding off
 *    only writers of runs without a creator meanwhile.
 *
 * Writers wait at most one chunk (a chunk is one hour's runs or one creator's runs at least), or one pass over
 * aggregate rows; readers never wait. What "stop writers" means:
 *
 * - PostgreSQL: `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` (blocks writes, not reads; two rebuilds take turns).
 * - MySQL/MariaDB: a locking read of the chunk's `created_at` (or `created_by_id`) index range under REPEATABLE READ:
 *   next-key locks keep runs from being inserted into, changed in or moved out of the range until commit; other hours
 *   (creators) stay writable.
 * - SQLite: `BEGIN IMMEDIATE` (SQLite has one writer anyway).
 */
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import type { DialectName } from '../dialect.js';
import { EXECUTION_TABLE } from '../schema.js';
import { MYSQL_CREATOR, MYSQL_HOUR } from './mysql.js';
import { PG_CREATOR, PG_HOUR } from './postgres.js';
import { SQLITE_CREATOR, SQLITE_HOUR } from './sqlite.js';
import { ALL_CREATORS, STATS_TABLE } from './table.js';

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
 * writers run. `db` may be a transaction or a single connection: then every chunk runs in it (the PostgreSQL
 * backfill runs on the connection that holds its advisory lock).
 */
export async function rebuildAggregates(
  db: AnyDb,
  dialect: DialectName,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH_SIZE;
  const { hour, creator } = EXPRESSIONS[dialect];
  const toDb = (d: Date) => (dialect === 'sqlite' ? d.toISOString() : d);
  const table = sql.table(EXECUTION_TABLE);
  const stats = sql.table(STATS_TABLE);
  const runs = Number(
    (await sql<{ n: number | string }>`select count(*) as n from ${table}`.execute(db)).rows[0]?.n ?? 0,
  );
  // Every run is counted twice: once by time (hourly rollups), once by creator (their all-time rows).
  const total = 2 * runs;
  let counted = 0;
  let chunks = 0;
  const progress = (n: number) => {
    counted += n;
    chunks++;
    options.onProgress?.(counted, Math.max(total, counted));
  };

  // 1. The hourly rollups, chunk by chunk of `created_at` (hourly rows of another creator than `*` are left-overs of
  // an older layout: they go too).
  let from: Date | undefined;
  for (;;) {
    // The chunk ends after the hour of the run `batchSize` places on (or never, for the last chunk).
    const after = from ? sql`where created_at >= ${toDb(from)}` : sql``;
    const { rows } = await sql<{ created_at: Date | string }>`select created_at from ${table}
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
    progress(
      await locked(db, dialect, async (trx) => {
        if (dialect === 'mysql') {
          // The count is the locking read: next-key locks on the chunk's `created_at` index range (and on the rows
          // through it, never through another index, which could deadlock with a writer) until commit. Taken before
          // any aggregate row, in the order writers take them (run, then aggregates).
          const { rows: counts } = await sql<{ b: string; m: string; t: string; s: string; n: number }>`
            select ${sql.raw(hour)} as b, module as m, task_name as t, status as s, count(*) as n
            from ${table} force index (agentcore_task_execution_created_at) where ${range}
            group by b, m, t, s lock in share mode`.execute(trx);
          await sql`delete from ${stats} where ${buckets}`.execute(trx);
          await insertValues(
            trx,
            counts.map((r) => sql`('h', ${r.b}, ${ALL_CREATORS}, ${r.m}, ${r.t}, ${r.s}, ${r.n})`),
          );
          return counts.reduce((sum, r) => sum + Number(r.n), 0);
        }
        await sql`delete from ${stats} where ${buckets}`.execute(trx);
        await sql`insert into ${stats} (grain, bucket, creator, module, task_name, status, n)
          select 'h', ${sql.raw(hour)}, ${ALL_CREATORS}, module, task_name, status, count(*)
          from ${table} where ${range}
          group by ${sql.raw(hour)}, module, task_name, status`.execute(trx);
        const { rows: sum } = await sql<{ n: number | string | null }>`select sum(n) as n from ${stats}
          where ${buckets}`.execute(trx);
        return Number(sum[0]?.n ?? 0);
      }),
    );
    if (!to) break;
    from = to;
  }

  // 2. Daily and all-time rollups from the (now exact) hourly ones, with every hour held still.
  await locked(db, dialect, async (trx) => {
    // MySQL/MariaDB: hold every hourly row (writers' triggers upsert their hourly row first).
    if (dialect === 'mysql') await sql`select count(*) from ${stats} where grain = 'h' lock in share mode`.execute(trx);
    // Per-creator all-time rows of an older layout (grain 't', another creator than `*`) go too.
    await sql`delete from ${stats} where grain in ('d', 't')`.execute(trx);
    for (const [grain, bucket] of [
      ['d', sql`substr(bucket, 1, 10)`],
      ['t', sql`''`],
    ] as const) {
      await sql`insert into ${stats} (grain, bucket, creator, module, task_name, status, n)
        select ${grain}, b, ${ALL_CREATORS}, module, task_name, status, sum(n) from (
          select ${bucket} as b, module, task_name, status, n from ${stats} where grain = 'h' and creator = ${ALL_CREATORS}
        ) as h group by b, module, task_name, status having sum(n) <> 0`.execute(trx);
    }
    return 0;
  });
  // 3. Each creator's all-time rows, chunk by chunk of creators (in `created_by_id` order, the runs without a
  // creator last); a creator's runs are never split between chunks. The key range of a chunk covers creators that
  // no longer have runs too, so their rows go.
  type Chunk = { none: true } | { none: false; after?: string; upTo?: string };
  const creatorChunk = async (chunk: Chunk) =>
    locked(db, dialect, async (trx) => {
      const id = sql.ref('created_by_id');
      const runsOf = chunk.none
        ? sql`${id} is null`
        : sql.join(
            [
              sql`${id} is not null`,
              ...(chunk.after !== undefined ? [sql`${id} > ${chunk.after}`] : []),
              ...(chunk.upTo !== undefined ? [sql`${id} <= ${chunk.upTo}`] : []),
            ],
            sql` and `,
          );
      // `substr(creator, 2)` is the id, compared like the column (same collation) so the key range is the runs' range.
      const keys = chunk.none
        ? sql`grain = 'c' and creator = ''`
        : sql.join(
            [
              sql`grain = 'c' and creator like '=%'`,
              ...(chunk.after !== undefined ? [sql`substr(creator, 2) > ${chunk.after}`] : []),
              ...(chunk.upTo !== undefined ? [sql`substr(creator, 2) <= ${chunk.upTo}`] : []),
            ],
            sql` and `,
          );
      if (dialect === 'mysql') {
        const { rows: counts } = await sql<{ c: string; m: string; t: string; s: string; n: number }>`
          select ${sql.raw(creator)} as c, module as m, task_name as t, status as s, count(*) as n
          from ${table} force index (agentcore_task_execution_created_by_created_at) where ${runsOf}
          group by c, m, t, s lock in share mode`.execute(trx);
        await sql`delete from ${stats} where ${keys}`.execute(trx);
        await insertValues(
          trx,
          counts.map((r) => sql`('c', '', ${r.c}, ${r.m}, ${r.t}, ${r.s}, ${r.n})`),
        );
        return counts.reduce((sum, r) => sum + Number(r.n), 0);
      }
      await sql`delete from ${stats} where ${keys}`.execute(trx);
      await sql`insert into ${stats} (grain, bucket, creator, module, task_name, status, n)
        select 'c', '', ${sql.raw(creator)}, module, task_name, status, count(*)
        from ${table} where ${runsOf}
        group by ${sql.raw(creator)}, module, task_name, status`.execute(trx);
      const { rows: sum } = await sql<{ n: number | string | null }>`select sum(n) as n from ${stats}
        where ${keys}`.execute(trx);
      return Number(sum[0]?.n ?? 0);
    });
  for (let after: string | undefined; ; ) {
    const { rows } = await sql<{ id: string }>`select created_by_id as id from ${table}
      where created_by_id is not null ${after !== undefined ? sql`and created_by_id > ${after}` : sql``}
      order by created_by_id limit 1 offset ${batchSize}`.execute(db);
    const upTo = rows[0] ? String(rows[0].id) : undefined;
    progress(await creatorChunk({ none: false, after, upTo }));
    if (upTo === undefined) break;
    after = upTo;
  }
  // Runs without a creator: on MySQL/MariaDB counted (a locking read of the index's null range holds off only their
  // writers); elsewhere, where counting them would hold off every writer for as long, the all-time rollups (exact
  // since step 2) minus every creator's rows (exact since their chunks), with writers held off meanwhile.
  progress(
    dialect === 'mysql'
      ? await creatorChunk({ none: true })
      : await locked(db, dialect, async (trx) => {
          await sql`delete from ${stats} where grain = 'c' and bucket = '' and creator = ''`.execute(trx);
          await sql`insert into ${stats} (grain, bucket, creator, module, task_name, status, n)
            select 'c', '', '', module, task_name, status, sum(n) from (
              select module, task_name, status, n from ${stats}
              where grain = 't' and bucket = '' and creator = ${ALL_CREATORS}
              union all
              select module, task_name, status, -n from ${stats}
              where grain = 'c' and bucket = '' and creator like '=%'
            ) as x group by module, task_name, status having sum(n) <> 0`.execute(trx);
          const { rows: sum } = await sql<{ n: number | string | null }>`select sum(n) as n from ${stats}
            where grain = 'c' and bucket = '' and creator = ''`.execute(trx);
          return Number(sum[0]?.n ?? 0);
        }),
  );

  return { runs, chunks: chunks + 1 };
}

/** Inserts counted rows `(grain, bucket, creator, module, task_name, status, n)`, 500 a statement. */
async function insertValues(trx: AnyDb, values: RawBuilder<unknown>[]) {
  for (let i = 0; i < values.length; i += 500) {
    await sql`insert into ${sql.table(STATS_TABLE)} (grain, bucket, creator, module, task_name, status, n)
      values ${sql.join(values.slice(i, i + 500))}`.execute(trx);
  }
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
