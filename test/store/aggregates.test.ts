import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { Kysely, Migrator, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type ExecutionFilters,
  type StatsOptions,
  silentLogger,
  TaskStatus,
  type TaskStatusValue,
} from '../../src/index.js';
import {
  backfillAggregates,
  countsFromAggregates,
  rebuildAggregates,
  seriesFromAggregates,
} from '../../src/store/aggregates/index.js';
import { connectDatabase } from '../../src/store/connect.js';
import type { DialectName, SqlDialect } from '../../src/store/dialect.js';
import { seriesRange } from '../../src/store/execution-store.js';
import { applyFilters } from '../../src/store/filters.js';
import { migrationsFor } from '../../src/store/migrations.js';
import { mysqlDialect } from '../../src/store/mysql/dialect.js';
import { postgresDialect } from '../../src/store/postgres/dialect.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../src/store/schema.js';
import { sqliteDialect } from '../../src/store/sqlite/dialect.js';
import { expectAggregatesExact } from '../helpers/aggregates.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

/**
 * Issue 17, stats from maintained aggregates: after random registers, status changes (single and batched), cleanup,
 * and inserts/updates/deletes in plain SQL, every stats answer (filters scoped and unscoped, each granularity) equals
 * `count(*) … group by` over the execution table, and the aggregate table itself equals the table's counts per hour,
 * day and all time. On all three databases.
 */

type AnyDb = Kysely<any>;

const SQL_DIALECTS: Record<DialectName, SqlDialect> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  sqlite: sqliteDialect,
};
const HOUR = 3_600_000;
const DAY = 86_400_000;
const STATUSES = Object.values(TaskStatus).filter((s) => typeof s === 'string') as TaskStatusValue[];
const MODULES = ['m1', 'm2', 'm3'];
const NAMES = ['t1', 't2'];
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** `stats()` as `count(*) … group by` over the table computes it (the store's own fallback query). */
async function statsFromTable(db: AnyDb, dialect: SqlDialect, options: StatsOptions) {
  const { granularity, ...filters } = options;
  const rows = await applyFilters(db.selectFrom('agentcore_task_execution'), filters, dialect)
    .select(['module', 'task_name', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['module', 'task_name', 'status'])
    .execute();
  const empty = () => ({ total: 0, pending: 0, started: 0, success: 0, failure: 0, retry: 0, revoked: 0 });
  const stats: Record<string, unknown> & ReturnType<typeof empty> = { ...empty(), by_module: {}, by_task_name: {} };
  const add = (c: Record<string, number>, status: string, n: number) => {
    c.total += n;
    c[status.toLowerCase()] += n;
  };
  for (const r of rows) {
    const byModule = stats.by_module as Record<string, Record<string, number>>;
    const byName = stats.by_task_name as Record<string, Record<string, number>>;
    byModule[r.module] ??= empty();
    byName[r.task_name] ??= empty();
    add(stats as unknown as Record<string, number>, r.status, Number(r.n));
    add(byModule[r.module], r.status, Number(r.n));
    add(byName[r.task_name], r.status, Number(r.n));
  }
  if (granularity) {
    const { from, to, buckets } = seriesRange(granularity, filters);
    const bucket = dialect.createdAtBucket(granularity);
    const series = await applyFilters(
      db.selectFrom('agentcore_task_execution'),
      { ...filters, startDate: undefined, endDate: undefined },
      dialect,
    )
      .where('created_at', '>=', dialect.toDbDate(from))
      .where('created_at', '<', dialect.toDbDate(to))
      .select([bucket.as('bucket'), 'status', sql<number>`count(*)`.as('n')])
      .groupBy([bucket, 'status'])
      .execute();
    const byBucket = new Map<string, ReturnType<typeof empty>>();
    for (const r of series) {
      const counts = byBucket.get(String(r.bucket)) ?? empty();
      add(counts, r.status, Number(r.n));
      byBucket.set(String(r.bucket), counts);
    }
    stats.series = buckets.map((b) => ({ bucket: b, count: byBucket.get(b)?.total ?? 0 }));
    stats.series_by_status = buckets.map((b) => ({ bucket: b, counts: byBucket.get(b) ?? empty() }));
  }
  return stats;
}

/** Every stats request the check makes: key filters (scoped and not) × date ranges × granularities. */
function requests(now: Date): StatsOptions[] {
  const today = new Date(Math.floor(now.getTime() / DAY) * DAY);
  const day = (n: number) => isoDay(new Date(today.getTime() + n * DAY));
  const keys: ExecutionFilters[] = [
    {},
    { module: 'm1' },
    { taskName: 't2' },
    { status: 'SUCCESS' },
    { createdById: null },
    { createdById: 1 },
    { createdById: 'alice' },
    { createdById: '' },
    { module: 'm2', createdById: 'alice', status: 'PENDING' },
  ];
  const ranges: ExecutionFilters[] = [
    {},
    { startDate: day(-3) },
    { endDate: day(-1) },
    { startDate: `${day(-2)}T05:00:00Z`, endDate: day(0) },
    { startDate: `${day(-1)}T10:00:00Z`, endDate: day(-1) },
    { startDate: day(-40), endDate: day(-2) },
    // Not covered: the store falls back to the table.
    { startDate: `${day(-1)}T10:30:00Z` },
    { endDate: `${day(-1)}T10:00:00Z` },
  ];
  const out: StatsOptions[] = [];
  for (const key of keys)
    for (const range of ranges)
      for (const granularity of [undefined, 'day', 'month', 'year'] as const)
        out.push({ ...key, ...range, granularity });
  out.push({ search: 't1' }, { metadata: { k: 'v' } });
  return out;
}

type Op =
  | { kind: 'register'; module: string; name: string; creator: number | string | null }
  | { kind: 'status'; pick: number; status: TaskStatusValue }
  | { kind: 'sqlInsert'; module: string; name: string; creator: string | null; status: string; createdOffset: number }
  | { kind: 'sqlUpdate'; pick: number; module: string; status: string; createdOffset: number | null }
  | { kind: 'sqlDelete'; pick: number }
  | { kind: 'batch'; module: string; status: string }
  | { kind: 'cleanup' };

const module = fc.constantFrom(...MODULES);
const name = fc.constantFrom(...NAMES);
const status = fc.constantFrom(...STATUSES);
// Up to ~14 months old: every series granularity and the cleanup have something to see.
/**
 * How long ago a run was created, in ms. Mostly right on or next to an hour or day edge of the last four days (where
 * an off-by-one bucket would show), otherwise anywhere in the last 14 months.
 */
const age = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 96 }), fc.constantFrom(0, 1, 30 * 60_000, HOUR - 1))
      .map(([hours, offset]) => -(hours * HOUR) + offset),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 420 * 24 }).map((hours) => -(hours * HOUR) + 17_123) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('register' as const),
      module,
      name,
      creator: fc.constantFrom<number | string | null>(null, 1, 'alice'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('status' as const), pick: fc.nat(), status }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('sqlInsert' as const),
      module,
      name,
      creator: fc.constantFrom<string | null>(null, '1', 'alice', ''),
      status,
      createdOffset: age,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sqlUpdate' as const),
      pick: fc.nat(),
      module,
      status,
      createdOffset: fc.option(age, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sqlDelete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), module, status }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cleanup' as const) }) },
);

describe.each(DIALECTS)('stats from aggregates on %s', (dialectName) => {
  const database = useTestDatabase(dialectName);
  const dialect = SQL_DIALECTS[dialectName];
  let tasks: AgentcoreTask;
  let db: AnyDb;
  let seq = 0;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: false,
      env: {},
    });
    db = tasks.db as AnyDb;
  });
  afterAll(async () => {
    await tasks?.close();
  });

  /** An instant `offset` ms from the start of the current hour (so edges are exact). */
  const at = (offset: number) => dialect.toDbDate(new Date(Math.floor(Date.now() / HOUR) * HOUR + offset));
  const taskIds = async () =>
    (await db.selectFrom('agentcore_task_execution').select('task_id').orderBy('id').execute()).map(
      (r: { task_id: string }) => r.task_id,
    );

  async function apply(ops: Op[]) {
    let registers: Promise<unknown>[] = [];
    const flush = async () => {
      await Promise.all(registers);
      registers = [];
    };
    for (const o of ops) {
      seq++;
      if (o.kind === 'register') {
        // Registers in a row go out together: on PostgreSQL they share one batch statement.
        registers.push(
          tasks.registerTaskExecution({
            taskId: `reg-${seq}`,
            taskName: o.name,
            module: o.module,
            ...(o.creator === null ? {} : { createdBy: { id: o.creator, username: 'u' } }),
          }),
        );
        continue;
      }
      await flush();
      const ids = await taskIds();
      const pick = (n: number) => ids[n % ids.length];
      if (o.kind === 'status') {
        if (ids.length > 0) await tasks.tracker.updateTaskStatus(pick(o.pick), o.status);
      } else if (o.kind === 'sqlInsert') {
        const when = at(o.createdOffset);
        await db
          .insertInto('agentcore_task_execution')
          .values({
            task_id: `sql-${seq}`,
            task_name: o.name,
            module: o.module,
            status: o.status,
            created_at: when,
            updated_at: when,
            created_by_id: o.creator,
          })
          .execute();
      } else if (o.kind === 'sqlUpdate') {
        if (ids.length > 0)
          await db
            .updateTable('agentcore_task_execution')
            .set({
              module: o.module,
              status: o.status,
              ...(o.createdOffset === null ? {} : { created_at: at(o.createdOffset) }),
            })
            .where('task_id', '=', pick(o.pick))
            .execute();
      } else if (o.kind === 'sqlDelete') {
        if (ids.length > 0)
          await db.deleteFrom('agentcore_task_execution').where('task_id', '=', pick(o.pick)).execute();
      } else if (o.kind === 'batch') {
        // One statement changing many rows (PostgreSQL: one trigger call with every row's delta).
        await db
          .updateTable('agentcore_task_execution')
          .set({ status: o.status })
          .where('module', '=', o.module)
          .execute();
      } else {
        await tasks.maintenance.cleanupOldExecutions({ retentionDays: 300, onlyCompleted: false, batchSize: 7 });
      }
    }
    await flush();
  }

  async function expectEveryAnswerExact() {
    await expectAggregatesExact(db);
    for (const request of requests(new Date())) {
      const expected = await statsFromTable(db, dialect, request);
      expect(await tasks.tracker.getTaskStats(request), JSON.stringify(request)).toEqual(expected);
    }
  }

  it('every stats answer equals count(*) … group by over the table after random writes, deletes and imports', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        await apply(ops);
        await expectEveryAnswerExact();
      }),
      { numRuns: 8, endOnFailure: true },
    );
  });

  it('covered filters are answered from the aggregates; search, metadata and unaligned dates are not', async () => {
    const day = isoDay(new Date(Date.now() - DAY));
    expect(await countsFromAggregates(db, { module: 'm1', startDate: day })).not.toBeNull();
    expect(await countsFromAggregates(db, { module: 'm1', createdById: 1 })).not.toBeNull();
    expect(await countsFromAggregates(db, { module: 'm1', createdById: 1, startDate: day })).toBeNull();
    expect(await countsFromAggregates(db, { startDate: `${day}T03:00:00Z`, endDate: day })).not.toBeNull();
    expect(await countsFromAggregates(db, { search: 'x' })).toBeNull();
    expect(await countsFromAggregates(db, { metadata: { k: 'v' } })).toBeNull();
    expect(await countsFromAggregates(db, { startDate: `${day}T03:00:01Z` })).toBeNull();
    expect(await countsFromAggregates(db, { endDate: `${day}T03:00:00Z` })).toBeNull();
    const from = new Date(`${day}T00:00:00Z`);
    expect(
      await seriesFromAggregates(db, { status: 'SUCCESS' }, 'day', from, new Date(from.getTime() + DAY)),
    ).not.toBeNull();
  });

  it('rebuild recounts corrupted aggregates exactly while writers keep writing', async () => {
    // Runs in ten different hours: with 3 runs a chunk, at least four chunks.
    await apply(
      Array.from({ length: 10 }, (_, i) => ({
        kind: 'sqlInsert' as const,
        module: MODULES[i % 3],
        name: NAMES[i % 2],
        creator: i % 3 ? 'alice' : null,
        status: STATUSES[i % STATUSES.length],
        createdOffset: -HOUR * (2 + i * 5),
      })),
    );
    await sql`delete from agentcore_task_stats where grain = 'd'`.execute(db);
    await sql`update agentcore_task_stats set n = n + 5 where grain = 'h'`.execute(db);
    await sql`insert into agentcore_task_stats (grain, bucket, creator, module, task_name, status, n)
      values ('h', '2001-01-01T00', '*', 'ghost', 'ghost', 'SUCCESS', 3), ('c', '', '=ghost', 'm1', 't1', 'SUCCESS', 2),
        ('t', '', '=alice', 'm1', 't1', 'SUCCESS', 4),
        ('h', '2001-01-01T00', '=alice', 'm1', 't1', 'SUCCESS', 1)`.execute(db);
    await sql`update agentcore_task_stats set n = n - 1 where grain = 'c'`.execute(db);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 20; i++) {
        await tasks.registerTaskExecution({
          taskId: `during-${i}`,
          taskName: 't1',
          module: 'm3',
          ...(i % 3 ? { createdBy: { id: i % 3 === 1 ? 'alice' : 1, username: 'u' } } : {}),
        });
        await tasks.tracker.updateTaskStatus(`during-${i}`, i % 2 ? 'SUCCESS' : 'STARTED');
      }
    })();
    const progress: number[] = [];
    const result = await rebuildAggregates(db, dialectName, { batchSize: 3, onProgress: (n) => progress.push(n) });
    writing = false;
    await writer;
    expect(result.chunks).toBeGreaterThan(2);
    expect(progress.at(-1)).toBeGreaterThan(0);
    await expectEveryAnswerExact();
  });

  it('answers a covered request without reading the execution table', async () => {
    const statements: string[] = [];
    const kysely = loggingKysely(dialectName, database.url, statements);
    const watched = await createAgentcoreTask({
      database: { kysely },
      logger: silentLogger,
      migrate: false,
      realtime: false,
    });
    try {
      const day = isoDay(new Date(Date.now() - DAY));
      await watched.tracker.getTaskStats({ createdById: 1, module: 'm1' });
      await watched.tracker.getTaskStats({ module: 'm1', startDate: day, granularity: 'day' });
      await watched.tracker.getTaskStats({ granularity: 'year' });
      await watched.tracker.getTaskStats({ status: 'FAILURE', startDate: `${day}T07:00:00Z`, granularity: 'month' });
      expect(statements.length).toBeGreaterThanOrEqual(7);
      expect(statements.filter((s) => s.includes('agentcore_task_execution'))).toEqual([]);
      statements.length = 0;
      await watched.tracker.getTaskStats({ search: 'reg' });
      expect(statements.some((s) => s.includes('agentcore_task_execution'))).toBe(true);
      // Per creator there are only all-time rows: a creator's dated stats count the table.
      statements.length = 0;
      await watched.tracker.getTaskStats({ createdById: 1, startDate: day });
      expect(statements.some((s) => s.includes('agentcore_task_execution'))).toBe(true);
    } finally {
      await watched.close();
      await kysely.destroy();
    }
  });
});

describe.each(DIALECTS)('migration 0004 on %s', (dialectName) => {
  const database = useTestDatabase(dialectName);

  it('counts the runs already in the table', async () => {
    const { db } = await connectDatabase(database.url, silentLogger);
    const close = () => db.destroy();
    const migrator = (target?: string) =>
      new Migrator({
        db,
        provider: { getMigrations: async () => migrationsFor(dialectName) },
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      })[target ? 'migrateTo' : 'migrateToLatest'](target as string);
    try {
      expect((await migrator('0003_exact_identifiers')).error).toBeUndefined();
      const dialect = SQL_DIALECTS[dialectName];
      for (let i = 0; i < 30; i++) {
        const when = dialect.toDbDate(new Date(Date.now() - i * 7 * HOUR));
        await db
          .insertInto('agentcore_task_execution')
          .values({
            task_id: `old-${i}`,
            task_name: NAMES[i % 2],
            module: MODULES[i % 3],
            status: STATUSES[i % STATUSES.length],
            created_at: when,
            updated_at: when,
            created_by_id: i % 4 === 0 ? null : String(i % 3),
          })
          .execute();
      }
      const result = await migrator();
      expect(result.error).toBeUndefined();
      expect(result.results?.map((r) => r.migrationName)).toContain('0004_stats_aggregates');
      // PostgreSQL counts after the migration's transaction (what `migrateToLatest` runs next); elsewhere 0004 did.
      expect(await backfillAggregates(db, dialectName)).toMatchObject(
        dialectName === 'postgres' ? { state: 'done', runs: 30 } : { state: 'none' },
      );
      await expectAggregatesExact(db as AnyDb);
      expect(
        Number((await sql<{ n: number }>`select count(*) as n from agentcore_task_stats`.execute(db)).rows[0].n),
      ).toBeGreaterThan(30);
    } finally {
      await close();
    }
  });
});

/** A Kysely instance over `url` that records the SQL of every query it runs (Kysely's log hook). */
function loggingKysely(dialect: DialectName, url: string, statements: string[]): AnyDb {
  const log = (event: { level: string; query: { sql: string } }) => {
    if (event.level === 'query') statements.push(event.query.sql);
  };
  if (dialect === 'postgres')
    return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }), log });
  if (dialect === 'mysql')
    return new Kysely({
      dialect: new MysqlDialect({ pool: mysql.createPool({ uri: url, timezone: 'Z' }) as never }),
      log,
    });
  return new Kysely({ dialect: new SqliteDialect({ database: new Sqlite(url.replace(/^sqlite:/, '')) }), log });
}
