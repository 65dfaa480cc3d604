import { type Kysely, Migrator, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type ExecutionFilters,
  silentLogger,
  TaskStatus,
} from '../../src/index.js';
import { BACKFILL_KEY, backfillAggregates, PG_BACKFILL_LOCK } from '../../src/store/aggregates/index.js';
import { connectDatabase } from '../../src/store/connect.js';
import type { DialectName } from '../../src/store/dialect.js';
import { seriesRange } from '../../src/store/execution-store.js';
import { migrateToLatest, migrationsFor } from '../../src/store/migrations.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../src/store/schema.js';
import { runCli } from '../cli/cli.js';
import { expectAggregatesExact } from '../helpers/aggregates.js';
import { useTestDatabase } from '../helpers/databases.js';

/**
 * Issue 17, history at any size: on PostgreSQL migration 0004 installs the aggregates and leaves the count of the
 * runs already stored to `migrateToLatest` after the commit, online (writers keep writing while it counts); readers
 * count the table until it is done; a count that stopped half-way is finished by the next `migrateToLatest`.
 */

type AnyDb = Kysely<any>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A pool on `url` with the schema up to 0003 (before the aggregates). */
async function before0004(url: string): Promise<AnyDb> {
  const { db } = await connectDatabase(url, silentLogger);
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor(dialectOf(url)) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  }).migrateTo('0003_exact_identifiers');
  expect(error).toBeUndefined();
  return db as AnyDb;
}

/**
 * `fn` on a PostgreSQL pool with the schema up to 0003 (`before0004`) and a second plain client of its own (to hold a
 * lock or cut a connection); both are closed afterwards.
 */
async function withOldSchema(url: string, fn: (db: AnyDb, client: pg.Client) => Promise<void>): Promise<void> {
  const db = await before0004(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(db, client);
  } finally {
    await client.end();
    await db.destroy();
  }
}

const dialectOf = (url: string): DialectName =>
  url.startsWith('postgres') ? 'postgres' : url.startsWith('mysql') ? 'mysql' : 'sqlite';

/**
 * `runs` old runs in one statement: 7 task names, 5 modules, every status, a creator on 3 runs in 4 (50 creators),
 * one run every 97 s back from now (about 67 days for 60,000).
 */
async function fillPostgres(db: AnyDb, runs: number) {
  await sql`insert into agentcore_task_execution (task_id, task_name, module, status, created_at, updated_at, created_by_id)
    select 'old-' || i, 't' || (i % 7), 'm' || (i % 5),
      (${sql.lit(`{${TaskStatus.all.join(',')}}`)}::text[])[1 + i % 6],
      now() - i * interval '97 seconds', now(),
      case when i % 4 = 0 then null else (i % 50)::text end
    from generate_series(1, ${runs}) as i`.execute(db);
}

async function pending(db: AnyDb): Promise<boolean> {
  const rows = await db.selectFrom('agentcore_task_config').select('key').where('key', '=', BACKFILL_KEY).execute();
  return rows.length > 0;
}

type Counts = Record<string, number>;

/** `getTaskStats(filters)`'s counts as `count(*) … group by` over the table gives them. */
async function statsFromTable(db: AnyDb, filters: { module?: string; createdById?: string }) {
  let q = db.selectFrom('agentcore_task_execution');
  if (filters.module !== undefined) q = q.where('module', '=', filters.module);
  if (filters.createdById !== undefined) q = q.where('created_by_id', '=', filters.createdById);
  const rows = await q
    .select(['module', 'task_name', 'status', sql<string>`count(*)`.as('n')])
    .groupBy(['module', 'task_name', 'status'])
    .execute();
  const empty = (): Counts => ({ total: 0, pending: 0, started: 0, success: 0, failure: 0, retry: 0, revoked: 0 });
  const stats = { ...empty(), by_module: {} as Record<string, Counts>, by_task_name: {} as Record<string, Counts> };
  const add = (c: Counts, status: string, n: number) => {
    c.total += n;
    c[status.toLowerCase()] += n;
  };
  for (const r of rows) {
    const n = Number(r.n);
    add(stats as unknown as Counts, r.status, n);
    stats.by_module[r.module] ??= empty();
    stats.by_task_name[r.task_name] ??= empty();
    add(stats.by_module[r.module], r.status, n);
    add(stats.by_task_name[r.task_name], r.status, n);
  }
  return stats;
}

/** Every stats answer checked here equals the table's counts. */
async function expectStatsExact(tasks: AgentcoreTask, db: AnyDb) {
  for (const filters of [{}, { module: 'm2' }, { createdById: '7' }]) {
    const { series: _series, series_by_status: _byStatus, ...stats } = await tasks.tracker.getTaskStats(filters);
    expect(stats, JSON.stringify(filters)).toEqual(await statsFromTable(db, filters));
  }
}

/** A list's count and whether it says it is exact. */
async function listCount(tasks: AgentcoreTask, filters: ExecutionFilters) {
  const page = await tasks.tracker.listTaskExecutions(filters, { pageSize: 1 });
  return { count: page.count, exact: page.countIsExact };
}

async function tableCount(db: AnyDb, column: 'module' | 'task_name', value: string): Promise<number> {
  const row = await db
    .selectFrom('agentcore_task_execution')
    .where(column, '=', value)
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('online stats backfill on postgres', () => {
  const database = useTestDatabase('postgres');

  it('writers keep writing while migrate counts 60,000 old runs; then every stats answer is exact', async () => {
    const db = await before0004(database.url);
    const writer = await createAgentcoreTask({
      database: database.url,
      migrate: false,
      realtime: false,
      logger: silentLogger,
    });
    try {
      await fillPostgres(db, 60_000);
      // A writer on its own pool: registers a run and finishes it, again and again, noting when each write returned.
      const writes: number[] = [];
      let stop = false;
      const loop = (async () => {
        for (let i = 0; !stop; i++) {
          await writer.registerTaskExecution({
            taskId: `live-${i}`,
            taskName: 'live',
            module: 'm1',
            createdBy: { id: String(i % 10) },
          });
          await writer.tracker.updateTaskStatus(`live-${i}`, TaskStatus.SUCCESS);
          writes.push(Date.now());
        }
      })();
      await sleep(200);
      let first: number | undefined;
      let last: number | undefined;
      let chunks = 0;
      const applied = await migrateToLatest(db, 'postgres', {
        backfill: {
          batchSize: 2_000,
          onProgress: () => {
            first ??= Date.now();
            last = Date.now();
            chunks++;
          },
        },
      });
      stop = true;
      await loop;
      expect(applied).toEqual(['0004_stats_aggregates']);
      expect(first).toBeDefined();
      expect(chunks).toBeGreaterThan(20);
      // Writes returned all along the count (the old migration held every writer until its commit, after the count).
      const during = writes.filter((t) => t > first! && t < last!).length;
      expect(during, `${during} writes in ${last! - first!} ms of backfill`).toBeGreaterThan(20);
      expect(await pending(db)).toBe(false);

      await expectAggregatesExact(db);
      const reader = await createAgentcoreTask({
        database: database.url,
        migrate: false,
        realtime: false,
        logger: silentLogger,
      });
      try {
        await expectStatsExact(reader, db);
        expect(await listCount(reader, { module: 'm1' })).toEqual({
          count: await tableCount(db, 'module', 'm1'),
          exact: true,
        });
      } finally {
        await reader.close();
      }
    } finally {
      await writer.close();
      await db.destroy();
    }
  });
});

describe('pending stats backfill on postgres', () => {
  const database = useTestDatabase('postgres');

  it('while pending, stats and list counts count the table; the aggregates serve again once it is done', async () => {
    const db = await before0004(database.url);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    let tasks: AgentcoreTask | undefined;
    try {
      await fillPostgres(db, 20_000);
      // Another process is counting: migrate applies 0004 and returns at once, the count still pending.
      await holder.query('select pg_advisory_lock($1)', [PG_BACKFILL_LOCK]);
      const started = Date.now();
      expect(await migrateToLatest(db, 'postgres')).toEqual(['0004_stats_aggregates']);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await pending(db)).toBe(true);
      expect(await backfillAggregates(db, 'postgres')).toEqual({ state: 'elsewhere' });

      tasks = await createAgentcoreTask({ database: database.url, realtime: false, logger: silentLogger });
      // New runs: the triggers count them, so the aggregates now hold these and none of the 20,000 old ones.
      for (let i = 0; i < 30; i++) {
        await tasks.registerTaskExecution({ taskId: `new-${i}`, taskName: 't3', module: 'fresh' });
        if (i % 3 === 0) await tasks.tracker.updateTaskStatus(`new-${i}`, TaskStatus.FAILURE);
      }
      await expectStatsExact(tasks, db);
      // t3: about 2,900 runs, under the exact bound, so the table's count is exact.
      expect(await listCount(tasks, { taskName: 't3' })).toEqual({
        count: await tableCount(db, 'task_name', 't3'),
        exact: true,
      });
      expect(await listCount(tasks, { module: 'fresh' })).toEqual({ count: 30, exact: true });
      // Resetting the settings (DELETE config) keeps the marker: the aggregates are still not counted.
      await tasks.settings.reset();
      expect(await pending(db)).toBe(true);
      // The series too (30 days; old runs span about 22 of them).
      const month = await tasks.tracker.getTaskStats({ granularity: 'month' });
      const { rows } = await sql<{ n: string }>`select count(*) as n from agentcore_task_execution
        where created_at >= ${seriesRange('month', {}).from}`.execute(db);
      expect(month.series?.reduce((sum, b) => sum + b.count, 0)).toBe(Number(rows[0].n));

      // The other process lets go; the next migrate counts.
      await holder.query('select pg_advisory_unlock($1)', [PG_BACKFILL_LOCK]);
      expect(await migrateToLatest(db, 'postgres')).toEqual([]);
      expect(await pending(db)).toBe(false);
      await expectAggregatesExact(db);
      await sleep(1_100);
      await expectStatsExact(tasks, db);
      // Now the reads come from the aggregates: an all-time row changed behind their back shows in the answer.
      await sql`update agentcore_task_stats set n = n + 1000 where grain = 't' and module = 'fresh' and status = 'FAILURE'`.execute(
        db,
      );
      expect((await tasks.tracker.getTaskStats({ module: 'fresh' })).failure).toBe(1010);
    } finally {
      await tasks?.close();
      await holder.end();
      await db.destroy();
    }
  });
});

describe('stopped stats backfill on postgres', () => {
  const database = useTestDatabase('postgres');

  it('a count stopped half-way leaves the marker, and the next migrate finishes it', async () => {
    await withOldSchema(database.url, async (db) => {
      await fillPostgres(db, 20_000);
      let chunks = 0;
      await expect(
        migrateToLatest(db, 'postgres', {
          backfill: {
            batchSize: 1_000,
            onProgress: () => {
              if (++chunks === 5) throw new Error('process stopped');
            },
          },
        }),
      ).rejects.toThrow('process stopped');
      expect(await pending(db)).toBe(true);
      // Some hours are counted, most are not.
      const { rows } = await sql<{ n: string }>`select coalesce(sum(n), 0) as n from agentcore_task_stats
        where grain = 'h'`.execute(db);
      expect(Number(rows[0].n)).toBeGreaterThan(0);
      expect(Number(rows[0].n)).toBeLessThan(20_000);

      // The lock went with the failed count: the next migrate (or application start) counts it all.
      const tasks = await createAgentcoreTask({ database: database.url, realtime: false, logger: silentLogger });
      try {
        expect(await pending(db)).toBe(false);
        await expectAggregatesExact(db);
        await expectStatsExact(tasks, db);
      } finally {
        await tasks.close();
      }
    });
  });
});

describe('new database on postgres', () => {
  const database = useTestDatabase('postgres');

  it('needs no count: 0004 leaves nothing pending', async () => {
    const { db } = await connectDatabase(database.url, silentLogger);
    try {
      expect(await migrateToLatest(db, 'postgres', { backfill: false })).toHaveLength(4);
      expect(await pending(db as AnyDb)).toBe(false);
    } finally {
      await db.destroy();
    }
  });
});

describe.each(['mysql', 'sqlite'] satisfies DialectName[])('migration 0004 on %s', (dialect) => {
  const database = useTestDatabase(dialect);

  it('counts the old runs in the migration and leaves nothing pending', async () => {
    const db = await before0004(database.url);
    try {
      const at = new Date(Date.UTC(2024, 0, 1, 10));
      for (let i = 0; i < 20; i++) {
        const when = dialect === 'sqlite' ? at.toISOString() : at;
        await db
          .insertInto('agentcore_task_execution')
          .values({
            task_id: `old-${i}`,
            task_name: 't',
            module: `m${i % 2}`,
            status: 'SUCCESS',
            created_at: when,
            updated_at: when,
          })
          .execute();
      }
      // Before 0004 a store counts the table (the aggregates are not there yet).
      const early = await createAgentcoreTask({ database: database.url, migrate: false, logger: silentLogger });
      try {
        expect((await early.tracker.getTaskStats()).total).toBe(20);
        expect(await listCount(early, { module: 'm1' })).toEqual({ count: 10, exact: true });
      } finally {
        await early.close();
      }
      expect(await migrateToLatest(db, dialect)).toEqual(['0004_stats_aggregates']);
      expect(await pending(db)).toBe(false);
      const { rows } = await sql<{ n: string }>`select sum(n) as n from agentcore_task_stats
        where grain = 't' and creator = '*'`.execute(db);
      expect(Number(rows[0].n)).toBe(20);
    } finally {
      await db.destroy();
    }
  });
});

describe('stats backfill whose connection dies on postgres', () => {
  const database = useTestDatabase('postgres');

  it('the lock goes with the connection, and the next migrate counts it all', async () => {
    await withOldSchema(database.url, async (db, admin) => {
      await fillPostgres(db, 20_000);
      let chunks = 0;
      let killed: Promise<pg.QueryResult> | undefined;
      const failed = await migrateToLatest(db, 'postgres', {
        backfill: {
          batchSize: 1_000,
          onProgress: () => {
            // The connection holding the lock is cut, as when its process is killed.
            if (++chunks === 3)
              killed = admin.query(
                `select pg_terminate_backend(pid) from pg_locks
                 where locktype = 'advisory' and granted and (classid::bigint << 32 | objid::bigint) = $1`,
                [PG_BACKFILL_LOCK],
              );
          },
        },
      }).then(
        () => null,
        (error: Error) => error,
      );
      expect((await killed)?.rows).toHaveLength(1);
      expect(failed).toBeInstanceOf(Error);
      expect(await pending(db)).toBe(true);
      expect(await backfillAggregates(db, 'postgres')).toMatchObject({ state: 'done', runs: 20_000 });
      expect(await pending(db)).toBe(false);
      await expectAggregatesExact(db);
    });
  });
});

describe('agentcore-task migrate over existing runs on postgres', () => {
  const database = useTestDatabase('postgres');

  it('counts them with progress on stderr and reports the count; says when another process counts', async () => {
    await withOldSchema(database.url, async (db, holder) => {
      await fillPostgres(db, 5_000);
      const first = await runCli(['migrate', '--json', '--database', database.url]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain('counting runs into the stats aggregates:');
      expect(JSON.parse(first.stdout)).toMatchObject({
        applied: ['0004_stats_aggregates'],
        backfill: { runs: 5_000, chunks: expect.any(Number), seconds: expect.any(Number) },
      });
      await expectAggregatesExact(db);
      const again = await runCli(['migrate', '--json', '--database', database.url]);
      expect(JSON.parse(again.stdout)).toMatchObject({ applied: [], backfill: 'none' });

      // Pending, with the lock held elsewhere.
      await db
        .insertInto('agentcore_task_config')
        .values({ key: BACKFILL_KEY, value: 'pending', updated_at: new Date() })
        .execute();
      await holder.query('select pg_advisory_lock($1)', [PG_BACKFILL_LOCK]);
      const busy = await runCli(['migrate', '--database', database.url]);
      expect(busy.code, busy.stderr).toBe(0);
      expect(busy.stdout).toContain('Another process is counting the existing runs');
      await holder.query('select pg_advisory_unlock($1)', [PG_BACKFILL_LOCK]);
      const done = await runCli(['migrate', '--database', database.url]);
      expect(done.stdout).toMatch(/Counted 5000 existing runs into the stats aggregates \(\d+(\.\d)? s\)\.\n$/);
    });
  });
});

describe('stats backfill that fails at application start on postgres', () => {
  const database = useTestDatabase('postgres');

  it('the application starts anyway (a warning, stats count the table); rebuild-stats then ends the pending count', async () => {
    await withOldSchema(database.url, async (db, holder) => {
      await fillPostgres(db, 3_000);
      expect(await migrateToLatest(db, 'postgres', { backfill: false })).toEqual(['0004_stats_aggregates']);
      expect(await pending(db)).toBe(true);
      // The count cannot get at the aggregate table within the database's lock_timeout: it fails.
      await sql
        .raw(`alter database "${new URL(database.url).pathname.slice(1)}" set lock_timeout = '300ms'`)
        .execute(db);
      await holder.query('begin');
      await holder.query('lock table agentcore_task_stats in access exclusive mode');
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (_: unknown, message?: string) => void warnings.push(String(message)) };
      const tasks = await createAgentcoreTask({ database: database.url, realtime: false, logger });
      try {
        expect(warnings.some((w) => w.includes('counting the stored runs into the stats aggregates failed'))).toBe(
          true,
        );
        await holder.query('rollback');
        expect(await pending(db)).toBe(true);
        // Meanwhile stats count the table, exactly.
        await expectStatsExact(tasks, db);

        const rebuilt = await runCli(['rebuild-stats', '--json', '--database', database.url]);
        expect(rebuilt.code, rebuilt.stderr).toBe(0);
        expect(JSON.parse(rebuilt.stdout)).toMatchObject({ runs: 3_000 });
        expect(await pending(db)).toBe(false);
        await expectAggregatesExact(db);
      } finally {
        await tasks.close();
      }
    });
  });
});
