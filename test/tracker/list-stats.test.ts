import Sqlite from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import mysql from 'mysql2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type ExecutionFilters,
  silentLogger,
  type TaskExecution,
} from '../../src/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

/** A Kysely instance over `url` that counts the queries it runs (Kysely's log hook). */
function countingKysely(dialect: DialectName, url: string, counter: { n: number }): Kysely<any> {
  const log = (event: { level: string }) => {
    if (event.level === 'query') counter.n++;
  };
  if (dialect === 'postgres')
    return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url }) }), log });
  if (dialect === 'mysql')
    return new Kysely({
      dialect: new MysqlDialect({
        pool: mysql.createPool({
          uri: url,
          timezone: 'Z',
          typeCast: (field: any, next: () => unknown) => (field.type === 'JSON' ? field.string() : next()),
        }) as never,
      }),
      log,
    });
  return new Kysely({ dialect: new SqliteDialect({ database: new Sqlite(url.replace(/^sqlite:/, '')) }), log });
}

describe.each(DIALECTS)('list and stats on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let all: TaskExecution[];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    const modules = ['billing', 'reports', 'mail'];
    const statuses = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'] as const;
    for (let i = 0; i < 36; i++) {
      const taskId = `list-${i}-${i % 2 ? 'Alpha' : 'beta'}`;
      await tasks.registerTaskExecution({
        taskId,
        taskName: `${modules[i % 3]}.job_${i % 4}`,
        module: modules[i % 3],
        createdBy: i % 5 === 0 ? null : { id: (i % 3) + 1, username: `u${(i % 3) + 1}` },
        metadata: { order_id: String(i % 6), n: i % 4, flag: i % 2 === 0 },
      });
      const status = statuses[i % 6];
      if (status !== 'PENDING') await tasks.tracker.updateTaskStatus(taskId, status);
    }
    // Spread created_at over known days so date filters have something to cut.
    const rows = (await tasks.tracker.listTaskExecutions({}, { pageSize: 100 })).results;
    for (const row of rows) {
      const i = Number(row.taskId.split('-')[1]);
      const day = String(1 + (i % 12)).padStart(2, '0');
      const at = new Date(`2026-03-${day}T${String(i % 24).padStart(2, '0')}:30:00.000Z`);
      await tasks.db
        .updateTable('agentcore_task_execution')
        .set({ created_at: tasks.dialect.toDbDate(at) })
        .where('id', '=', row.id)
        .execute();
    }
    all = (await tasks.tracker.listTaskExecutions({}, { pageSize: 100 })).results;
    expect(all).toHaveLength(36);
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('combines module, status, date range, search and metadata filters like a brute-force filter', async () => {
    const cases: ExecutionFilters[] = [
      { module: 'billing' },
      { status: 'SUCCESS' },
      { startDate: '2026-03-03', endDate: '2026-03-05' },
      { endDate: '2026-03-02T12:00:00Z' },
      { search: 'ALPHA' },
      { metadata: { order_id: '3' } },
      { metadata: { n: '2' } },
      { metadata: { flag: 'true' } },
      { module: 'reports', search: 'beta', startDate: '2026-03-01', endDate: '2026-03-12', metadata: { n: '0' } },
      { createdById: 2 },
      { createdById: null },
    ];
    for (const filters of cases) {
      const page = await tasks.tracker.listTaskExecutions(filters, { pageSize: 100 });
      const expected = all
        .filter((r) => matches(r, filters))
        .map((r) => r.taskId)
        .sort();
      expect(page.results.map((r) => r.taskId).sort(), JSON.stringify(filters)).toEqual(expected);
      expect(page.count).toBe(expected.length);
    }
  });

  it('a date-only end_date includes that whole day', async () => {
    const page = await tasks.tracker.listTaskExecutions(
      { startDate: '2026-03-04', endDate: '2026-03-04' },
      { pageSize: 100 },
    );
    const expected = all.filter((r) => r.createdAt.toISOString().startsWith('2026-03-04'));
    expect(expected.length).toBeGreaterThan(0);
    expect(page.count).toBe(expected.length);
    expect(page.results.some((r) => r.createdAt.getUTCHours() > 0)).toBe(true);
  });

  it('a malformed date is a typed validation error naming the field, not ignored', async () => {
    await expect(tasks.tracker.listTaskExecutions({ startDate: '2026-13-45' })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'start_date',
    });
    await expect(tasks.tracker.listTaskExecutions({ endDate: 'yesterday' })).rejects.toMatchObject({
      field: 'end_date',
    });
    await expect(tasks.tracker.getTaskStats({ endDate: '2026-02-30' })).rejects.toMatchObject({ field: 'end_date' });
  });

  it('rejects unknown status, ordering, metadata key and bad paging with the field named', async () => {
    await expect(tasks.tracker.listTaskExecutions({ status: 'DONE' as never })).rejects.toMatchObject({
      field: 'status',
    });
    await expect(tasks.tracker.listTaskExecutions({}, { ordering: 'secret' })).rejects.toMatchObject({
      field: 'ordering',
    });
    await expect(tasks.tracker.listTaskExecutions({ metadata: { 'a-b': '1' } })).rejects.toMatchObject({
      field: 'metadata.a-b',
    });
    await expect(tasks.tracker.listTaskExecutions({}, { page: 0 })).rejects.toMatchObject({ field: 'page' });
    await expect(tasks.tracker.listTaskExecutions({}, { pageSize: 1.5 })).rejects.toMatchObject({ field: 'page_size' });
  });

  it('orders, paginates and clamps the page size to 100', async () => {
    const asc = await tasks.tracker.listTaskExecutions({}, { ordering: 'created_at', pageSize: 5, page: 2 });
    const sorted = [...all].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id);
    expect(asc.results.map((r) => r.id)).toEqual(sorted.slice(5, 10).map((r) => r.id));
    const byName = await tasks.tracker.listTaskExecutions({}, { ordering: '-task_name', pageSize: 100 });
    const names = byName.results.map((r) => r.taskName);
    expect(names).toEqual([...names].sort().reverse());
    const huge = await tasks.tracker.listTaskExecutions({}, { pageSize: 100_000 });
    expect(huge.pageSize).toBe(100);
    const def = await tasks.tracker.listTaskExecutions();
    expect(def.results).toHaveLength(10);
    expect(def.results[0].createdAt.getTime()).toBe(Math.max(...all.map((r) => r.createdAt.getTime())));
  });

  it('stats equal brute-force counts by status, module and task name', async () => {
    for (const filters of [{}, { module: 'mail' }, { createdById: 1 }, { taskName: 'billing.job_0' }]) {
      const stats = await tasks.tracker.getTaskStats(filters);
      const rows = all.filter((r) => matches(r, filters));
      expect(stats.total).toBe(rows.length);
      for (const s of ['pending', 'started', 'success', 'failure', 'retry', 'revoked'] as const) {
        expect(stats[s]).toBe(rows.filter((r) => r.status.toLowerCase() === s).length);
      }
      for (const module of new Set(rows.map((r) => r.module))) {
        expect(stats.by_module[module].total).toBe(rows.filter((r) => r.module === module).length);
        expect(stats.by_module[module].success).toBe(
          rows.filter((r) => r.module === module && r.status === 'SUCCESS').length,
        );
      }
      for (const name of new Set(rows.map((r) => r.taskName))) {
        expect(stats.by_task_name[name].total).toBe(rows.filter((r) => r.taskName === name).length);
      }
      expect(Object.keys(stats.by_task_name).sort()).toEqual([...new Set(rows.map((r) => r.taskName))].sort());
    }
  });

  it('series: 24 hourly, 30 daily and 12 monthly buckets, empty ones filled with 0', async () => {
    const day = await tasks.tracker.getTaskStats({ granularity: 'day', startDate: '2026-03-04' });
    expect(day.series).toHaveLength(24);
    expect(day.series![0]).toEqual({ bucket: '00:00', count: expect.any(Number) });
    for (const { bucket, count } of day.series!) {
      const n = all.filter((r) => r.createdAt.toISOString().startsWith(`2026-03-04T${bucket.slice(0, 2)}`)).length;
      expect(count, bucket).toBe(n);
    }
    expect(day.series!.filter((b) => b.count === 0).length).toBeGreaterThan(0);

    const month = await tasks.tracker.getTaskStats({ granularity: 'month', endDate: '2026-03-10' });
    expect(month.series).toHaveLength(30);
    expect(month.series![0].bucket).toBe('2026-02-09');
    expect(month.series![29].bucket).toBe('2026-03-10');
    for (const { bucket, count } of month.series!) {
      expect(count, bucket).toBe(all.filter((r) => r.createdAt.toISOString().startsWith(bucket)).length);
    }
    const year = await tasks.tracker.getTaskStats({ granularity: 'year', endDate: '2026-04-15' });
    expect(year.series!.map((b) => b.bucket)).toEqual([
      '2025-05',
      '2025-06',
      '2025-07',
      '2025-08',
      '2025-09',
      '2025-10',
      '2025-11',
      '2025-12',
      '2026-01',
      '2026-02',
      '2026-03',
      '2026-04',
    ]);
    expect(year.series!.find((b) => b.bucket === '2026-03')!.count).toBe(36);
    expect(year.series!.find((b) => b.bucket === '2026-04')!.count).toBe(0);
    await expect(tasks.tracker.getTaskStats({ granularity: 'week' as never })).rejects.toMatchObject({
      field: 'granularity',
    });
  });

  it('stats issue the same number of SQL queries for 2 and for 200 task names', async () => {
    const counter = { n: 0 };
    const kysely = countingKysely(dialect, database.url, counter);
    const counted = await createAgentcoreTask({ database: { kysely }, logger: silentLogger, migrate: false });
    try {
      const queriesFor = async (names: number, module: string) => {
        for (let i = 0; i < names; i++)
          await counted.registerTaskExecution({ taskId: `${module}-${i}`, taskName: `${module}.name_${i}`, module });
        counter.n = 0;
        const stats = await counted.tracker.getTaskStats({ module, granularity: 'month' });
        expect(Object.keys(stats.by_task_name)).toHaveLength(names);
        return counter.n;
      };
      // A store's first read also checks, once, that the aggregates count every run (migration 0004 done).
      await counted.tracker.getTaskStats({ module: 'none' });
      const few = await queriesFor(2, 'few');
      const many = await queriesFor(200, 'many');
      expect(few).toBe(2);
      expect(many).toBe(few);
    } finally {
      await counted.close();
      await kysely.destroy();
    }
  });
});

function matches(r: TaskExecution, f: Record<string, any>): boolean {
  if (f.module !== undefined && r.module !== f.module) return false;
  if (f.taskName !== undefined && r.taskName !== f.taskName) return false;
  if (f.status !== undefined && r.status !== f.status) return false;
  if (f.createdById !== undefined && r.createdById !== f.createdById) return false;
  const t = r.createdAt.getTime();
  if (f.startDate !== undefined && t < Date.parse(f.startDate.length === 10 ? `${f.startDate}T00:00:00Z` : f.startDate))
    return false;
  if (f.endDate !== undefined) {
    const end = f.endDate.length === 10 ? Date.parse(`${f.endDate}T00:00:00Z`) + 86_400_000 : Date.parse(f.endDate) + 1;
    if (t >= end) return false;
  }
  if (f.search !== undefined) {
    const s = f.search.toLowerCase();
    if (!r.taskName.toLowerCase().includes(s) && !r.taskId.toLowerCase().includes(s)) return false;
  }
  for (const [k, v] of Object.entries(f.metadata ?? {})) {
    if (String(r.metadata[k]) !== v) return false;
  }
  return true;
}
