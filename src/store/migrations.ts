import { type Kysely, type Migration, Migrator, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run before our table types exist (Kysely's Migration takes AnyKysely).
type AnyKysely = Kysely<any>;

import {
  AGGREGATES_MIGRATION,
  backfillAggregates,
  installAggregates,
  markBackfillPending,
  type RebuildOptions,
  rebuildAggregates,
} from './aggregates/index.js';
import type { DialectName } from './dialect.js';
import { exactCollation, makeIdentifiersExact } from './mysql/collation.js';
import { CONFIG_TABLE, EXECUTION_TABLE, LOCK_TABLE, MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from './schema.js';

type Types = { id: string; ts: string; json: string; jsonDefaultEmptyObject: string; jsonDefaultEmptyArray: string };

// Column types per dialect. Timestamps: timestamptz (PostgreSQL), DATETIME(3) holding UTC (MySQL), ISO text (SQLite).
const TYPES: Record<DialectName, Types> = {
  postgres: {
    id: 'bigserial primary key',
    ts: 'timestamptz',
    json: 'jsonb',
    jsonDefaultEmptyObject: "jsonb not null default '{}'::jsonb",
    jsonDefaultEmptyArray: "jsonb not null default '[]'::jsonb",
  },
  mysql: {
    id: 'bigint not null auto_increment primary key',
    ts: 'datetime(3)',
    json: 'json',
    jsonDefaultEmptyObject: 'json not null default (json_object())',
    jsonDefaultEmptyArray: 'json not null default (json_array())',
  },
  sqlite: {
    id: 'integer primary key autoincrement',
    ts: 'text',
    json: 'text',
    jsonDefaultEmptyObject: "text not null default '{}'",
    jsonDefaultEmptyArray: "text not null default '[]'",
  },
};

/** Index name → columns, for `agentcore_task_execution`. */
export const EXECUTION_INDEXES: Record<string, string[]> = {
  agentcore_task_execution_module_status: ['module', 'status'],
  agentcore_task_execution_task_name_status: ['task_name', 'status'],
  agentcore_task_execution_created_at: ['created_at'],
  agentcore_task_execution_status_created_at: ['status', 'created_at'],
  agentcore_task_execution_module_created_at: ['module', 'created_at'],
  agentcore_task_execution_created_by_status: ['created_by_id', 'status'],
  agentcore_task_execution_created_by_created_at: ['created_by_id', 'created_at'],
};

/**
 * Versioned migrations, applied in name order and recorded in `agentcore_task_migration`. Each is written so that
 * running it against a database that already has its objects does nothing (`if not exists`).
 */
export function migrationsFor(dialect: DialectName): Record<string, Migration> {
  const t = TYPES[dialect];
  return {
    '0001_execution': {
      async up(db: AnyKysely) {
        await db.schema
          .createTable(EXECUTION_TABLE)
          .ifNotExists()
          .addColumn('id', sql.raw(t.id) as never)
          .addColumn('task_id', 'varchar(255)', (c) => c.notNull().unique())
          .addColumn('task_name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
          .addColumn('module', 'varchar(100)', (c) => c.notNull().defaultTo(''))
          .addColumn('status', 'varchar(20)', (c) => c.notNull().defaultTo('PENDING'))
          .addColumn('created_at', sql.raw(t.ts) as never, (c) => c.notNull())
          .addColumn('started_at', sql.raw(t.ts) as never)
          .addColumn('finished_at', sql.raw(t.ts) as never)
          .addColumn('updated_at', sql.raw(t.ts) as never, (c) => c.notNull())
          .addColumn('task_args', sql.raw(t.jsonDefaultEmptyArray) as never)
          .addColumn('task_kwargs', sql.raw(t.jsonDefaultEmptyObject) as never)
          .addColumn('result', sql.raw(t.json) as never)
          .addColumn('error', 'text')
          .addColumn('traceback', 'text')
          .addColumn('created_by_id', 'varchar(255)')
          .addColumn('created_by_username', 'varchar(150)')
          .addColumn('queue_name', 'varchar(255)')
          .addColumn('metadata', sql.raw(t.jsonDefaultEmptyObject) as never)
          .execute();
        for (const [name, columns] of Object.entries(EXECUTION_INDEXES)) {
          await createIndex(db, dialect, name, EXECUTION_TABLE, columns);
        }
        if (dialect === 'postgres') {
          await sql`create index if not exists agentcore_task_execution_metadata_gin on agentcore_task_execution using gin (metadata)`.execute(
            db,
          );
        }
      },
    },
    '0002_config_and_lock': {
      async up(db: AnyKysely) {
        await db.schema
          .createTable(CONFIG_TABLE)
          .ifNotExists()
          .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('updated_at', sql.raw(t.ts) as never, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable(LOCK_TABLE)
          .ifNotExists()
          .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('owner', 'varchar(100)', (c) => c.notNull())
          .addColumn('expires_at', sql.raw(t.ts) as never, (c) => c.notNull())
          .addColumn('created_at', sql.raw(t.ts) as never, (c) => c.notNull())
          .execute();
        await createIndex(db, dialect, 'agentcore_task_lock_expires_at', LOCK_TABLE, ['expires_at']);
      },
    },
    // MySQL/MariaDB compare text with the table's collation, by default case-insensitive and blind to trailing
    // spaces: `report-42 ` found `Report-42`'s row. Identifier columns become binary NO PAD, as they already compare
    // on PostgreSQL and SQLite (nothing to do there). See `mysql/collation.ts`.
    '0003_exact_identifiers': {
      async up(db: AnyKysely) {
        if (dialect !== 'mysql') return;
        await makeIdentifiersExact(db, await exactCollation(db));
      },
    },
    // Stats from aggregates: the table, the triggers that keep it exact, and the count of the runs already there. On
    // PostgreSQL the migrations are one transaction: counting in it would hold off writers for the whole count (about
    // 12 s per million runs), so it only records that the count is pending, and `migrateToLatest` counts online after
    // the commit. Elsewhere no transaction: the online, chunked recount of `rebuild-stats` runs here. Readers ignore
    // the aggregates until this migration is recorded and no count is pending. See `aggregates/backfill.ts`.
    [AGGREGATES_MIGRATION]: {
      async up(db: AnyKysely) {
        await installAggregates(db, dialect);
        if (dialect !== 'postgres') {
          await rebuildAggregates(db, dialect);
          return;
        }
        // The triggers' lock keeps writers out until commit: no run appears between this look and the commit. A new
        // (empty) table needs no count.
        const { rows } = await sql`select 1 from ${sql.table(EXECUTION_TABLE)} limit 1`.execute(db);
        if (rows.length > 0) await markBackfillPending(db, dialect);
      },
    },
  };
}

async function createIndex(db: AnyKysely, dialect: DialectName, name: string, table: string, columns: string[]) {
  if (dialect === 'mysql') {
    // MySQL/MariaDB have no `create index if not exists` in all versions we support: look first.
    const found = await sql<{ n: number }>`select count(*) as n from information_schema.statistics
      where table_schema = database() and table_name = ${table} and index_name = ${name}`.execute(db);
    if (Number(found.rows[0]?.n ?? 0) > 0) return;
    await db.schema.createIndex(name).on(table).columns(columns).execute();
    return;
  }
  await db.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
}

/** Options of `migrateToLatest`. */
export interface MigrateOptions {
  /**
   * The count of the runs already stored that migration `0004` leaves pending on PostgreSQL (`backfillAggregates`):
   * run after the migrations commit with these options, or not at all with `false` (the caller runs it).
   * @defaultValue `{}`
   */
  backfill?: RebuildOptions | false;
}

/**
 * Applies every pending migration, then, when `0004` left the stats backfill pending (PostgreSQL), counts the runs
 * already stored, online: in short chunks, never holding writers off for the whole count (see `rebuildAggregates`). Safe to run concurrently
 * from several processes (Kysely's migration lock; one process counts, the others return without waiting for it).
 * Returns the migrations applied.
 */
export async function migrateToLatest(
  db: AnyKysely,
  dialect: DialectName,
  options: MigrateOptions = {},
): Promise<string[]> {
  const applied = await applyMigrations(db, dialect);
  if (options.backfill !== false) await backfillAggregates(db, dialect, options.backfill);
  return applied;
}

/** The pending migrations, in the migrator's transaction on PostgreSQL. */
async function applyMigrations(db: AnyKysely, dialect: DialectName): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor(dialect) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  // SQLite has no migration lock across connections: two processes starting at once may both try to record the same
  // migration. The schema statements are idempotent, so running again (and finding it recorded) is the fix.
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    if (dialect !== 'sqlite' || attempt >= 10 || !/UNIQUE|locked|busy/i.test(String((error as Error).message)))
      throw error;
    // Let the other process finish its transaction before looking again (a jitter, so two retries do not collide).
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80 * attempt));
  }
}
