/**
 * The count of the runs already stored when migration `0004_stats_aggregates` installs the aggregates, made online.
 *
 * On PostgreSQL the migrations run in one transaction: a backfill inside it would hold off every writer of
 * `agentcore_task_execution` until the last run was counted (about 12 s per million runs). So there `0004` installs the
 * table and triggers and, when the table has runs, stores a marker in the same transaction (`stats:backfill` in
 * `agentcore_task_config`, which exists on every database since `0002`); `backfillAggregates`, run by `migrateToLatest`
 * once the migrations have committed, counts the runs with `rebuildAggregates` in short transactions (writers wait at
 * most one chunk) and then deletes the marker. One process counts at a time (a session advisory lock, not waited for);
 * if it dies, the marker stays and the next `migrateToLatest` counts again from the start (a recount is idempotent).
 * MySQL/MariaDB and SQLite run no migration transaction: `0004` counts there itself, online, before it is recorded.
 *
 * Until `0004` is recorded and while the marker is there, readers do not use the aggregates (`AggregatesReadiness`):
 * they count the table, as for filters the aggregates do not cover.
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../dialect.js';
import { CONFIG_TABLE, MIGRATION_TABLE } from '../schema.js';
import { type RebuildOptions, type RebuildResult, rebuildAggregates } from './rebuild.js';
import type { StatsTables } from './table.js';

// biome-ignore lint/suspicious/noExplicitAny: the config and aggregate tables, used before the table types apply (migrations).
type AnyDb = Kysely<any>;

/** The migration that installs the aggregates (its name in `agentcore_task_migration`). */
export const AGGREGATES_MIGRATION = '0004_stats_aggregates';
/** The config-table key whose row says that the aggregates do not count every run yet. */
export const BACKFILL_KEY = 'stats:backfill';
/**
 * The PostgreSQL advisory lock (session level, `pg_locks.objid` holds its low 32 bits) held by the process that
 * counts: an arbitrary constant of our own.
 */
export const PG_BACKFILL_LOCK = 7_415_902_305_117;
/** While a backfill is pending, readers look again at most this often. */
export const READINESS_RECHECK_MS = 1_000;

/** Stores the marker (idempotent). In migration 0004 on PostgreSQL, in the transaction that installs the triggers. */
export async function markBackfillPending(db: AnyDb, dialect: DialectName): Promise<void> {
  const row = {
    key: BACKFILL_KEY,
    value: 'pending',
    updated_at: dialect === 'sqlite' ? new Date().toISOString() : new Date(),
  };
  if (dialect === 'mysql') await db.insertInto(CONFIG_TABLE).ignore().values(row).execute();
  else
    await db
      .insertInto(CONFIG_TABLE)
      .values(row)
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
}

/** Deletes the marker: the aggregates count every run. */
async function clearBackfillPending(db: AnyDb): Promise<void> {
  await db.deleteFrom(CONFIG_TABLE).where('key', '=', BACKFILL_KEY).execute();
}

async function backfillPending(db: AnyDb): Promise<boolean> {
  const row = await db.selectFrom(CONFIG_TABLE).select('key').where('key', '=', BACKFILL_KEY).executeTakeFirst();
  return row !== undefined;
}

/** What `backfillAggregates` did. */
export type BackfillResult =
  /** No backfill was pending. */
  | { state: 'none' }
  /** Another process holds the backfill lock and is counting (PostgreSQL); this one did not wait. */
  | { state: 'elsewhere' }
  /** This call counted the runs and cleared the marker. */
  | ({ state: 'done' } & RebuildResult);

/**
 * Counts the runs into the aggregates when migration `0004` left that pending, online (short transactions; see
 * `rebuildAggregates`), then clears the marker. On PostgreSQL one process counts at a time: when another holds the
 * lock, returns `{ state: 'elsewhere' }` at once. Throws what the recount throws; the marker then stays for the next
 * call. `db` must not be a transaction. Called by `migrateToLatest` after the migrations commit.
 *
 * @example
 * const result = await backfillAggregates(tasks.db, tasks.dialect.name, { onProgress: (n, total) => log(n, total) });
 */
export async function backfillAggregates(
  db: AnyDb,
  dialect: DialectName,
  options: RebuildOptions = {},
): Promise<BackfillResult> {
  if (!(await backfillPending(db))) return { state: 'none' };
  if (dialect !== 'postgres') {
    // 0004 leaves none there (it counts in the migration); a marker stored by hand is counted here, without a lock (a
    // recount is safe while another runs). Processes that already read the aggregates keep reading them.
    return { state: 'done', ...(await recountAggregates(db, dialect, options)) };
  }
  // The lock belongs to a session: hold one connection for the lock and the recount (one connection in all).
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${PG_BACKFILL_LOCK}) as locked`.execute(
      conn,
    );
    if (!rows[0]?.locked) return { state: 'elsewhere' } as const;
    try {
      // Another process may have finished between the first look and the lock.
      if (!(await backfillPending(conn))) return { state: 'none' } as const;
      const result = await rebuildAggregates(conn, dialect, options);
      await clearBackfillPending(conn);
      return { state: 'done', ...result } as const;
    } finally {
      // A failing unlock must not hide the recount's own error (the lock goes with the session anyway).
      await sql`select pg_advisory_unlock(${PG_BACKFILL_LOCK})`.execute(conn).catch(() => {});
    }
  });
}

/**
 * A full recount (`rebuildAggregates`, what `agentcore-task rebuild-stats` runs) that also ends a pending backfill:
 * a complete recount is one, so readers may use the aggregates afterwards (new processes at once, running ones at
 * their next readiness check). Safe beside a backfill running elsewhere: each chunk of either replaces its rows
 * exactly.
 */
export async function recountAggregates(
  db: AnyDb,
  dialect: DialectName,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const result = await rebuildAggregates(db, dialect, options);
  await clearBackfillPending(db);
  return result;
}

/**
 * Whether the aggregates count every run, for one store's readers: `false` before migration 0004 is recorded and
 * while its backfill is pending. Once seen ready, that is remembered for good (no query); until then it is read again
 * at most once per `recheckMs`, concurrent callers sharing one read.
 */
export class AggregatesReadiness {
  #ready = false;
  #last?: { at: number; check: Promise<boolean> };

  constructor(private readonly recheckMs = READINESS_RECHECK_MS) {}

  /** `fn`'s answer from the aggregates when they count every run, else `null` (the caller counts the table). */
  async read<T>(db: AnyDb, fn: (stats: Kysely<StatsTables>) => Promise<T | null>): Promise<T | null> {
    return (await this.ready(db)) ? fn(db.withTables<StatsTables>()) : null;
  }

  /** `true` when the aggregates count every run. A failed check is not remembered (the error is the caller's). */
  async ready(db: AnyDb): Promise<boolean> {
    if (this.#ready) return true;
    const now = Date.now();
    if (!this.#last || now - this.#last.at >= this.recheckMs) {
      const check = this.#check(db);
      this.#last = { at: now, check };
      check.then(
        (ready) => {
          if (ready) this.#ready = true;
        },
        () => {
          if (this.#last?.check === check) this.#last = undefined;
        },
      );
    }
    return this.#last.check;
  }

  async #check(db: AnyDb): Promise<boolean> {
    // One statement, so one snapshot: migration 0004 recorded (on PostgreSQL in the transaction that stores the
    // marker; elsewhere after its count) and no marker.
    const row = await db
      .selectNoFrom((eb) => [
        eb
          .selectFrom(MIGRATION_TABLE)
          .where('name', '=', AGGREGATES_MIGRATION)
          .select(eb.fn.countAll().as('n'))
          .as('installed'),
        eb.selectFrom(CONFIG_TABLE).where('key', '=', BACKFILL_KEY).select(eb.fn.countAll().as('n')).as('pending'),
      ])
      .executeTakeFirstOrThrow();
    return Number(row.installed) > 0 && Number(row.pending) === 0;
  }
}
