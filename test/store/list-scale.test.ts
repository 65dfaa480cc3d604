/**
 * Lists whose first page costs the same at any size (issue 17): keyset paging by cursor walks every ordering forward
 * and backward and visits exactly the rows offset paging visits, in the same order (NULL timestamps, ties on the
 * ordering value, sub-millisecond timestamps on PostgreSQL); the count is exact from the aggregates or up to a bound,
 * then (PostgreSQL) an estimate marked `countIsExact: false`. On all three databases.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { type AgentcoreTask, createAgentcoreTask, type ExecutionFilters, silentLogger } from '../../src/index.js';
import { EXACT_COUNT_BOUND } from '../../src/store/execution-store.js';
import { type ImportRun, toImportRun } from '../../src/store/import.js';
import { ORDERING_FIELDS } from '../../src/types.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

const STATUSES = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];
const BASE = Date.parse('2026-02-01T00:00:00Z');

/** Run `i` of the set: created_at ties every 3 runs, NULL start/finish for some, a few names and statuses. */
function run(i: number, prefix = 'ks'): ImportRun {
  const status = STATUSES[i % STATUSES.length];
  const created = BASE + Math.floor(i / 3) * 60_000;
  return toImportRun({
    task_id: `${prefix}-${i}`,
    task_name: `job_${i % 4}`,
    module: `mod_${i % 2}`,
    status,
    created_at: new Date(created).toISOString(),
    started_at: status === 'PENDING' ? null : new Date(created + (i % 5) * 1000).toISOString(),
    finished_at: ['SUCCESS', 'FAILURE', 'REVOKED'].includes(status)
      ? new Date(created + 10_000 + (i % 2) * 1000).toISOString()
      : null,
    created_by_id: i % 3 === 0 ? null : (i % 2) + 1,
  });
}

describe.each(DIALECTS)('list paging and counts on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false, env: {} });
    await tasks.tracker.store.importRuns(Array.from({ length: 61 }, (_, i) => run(i)));
  });
  afterAll(async () => {
    await tasks?.close();
  });

  const list = (filters: ExecutionFilters, options: Parameters<AgentcoreTask['tracker']['listTaskExecutions']>[1]) =>
    tasks.tracker.listTaskExecutions(filters, options);

  /** The ids of every page by offset (the reference order). */
  async function byOffset(filters: ExecutionFilters, ordering: string): Promise<number[]> {
    const ids: number[] = [];
    for (let page = 1; ; page++) {
      const p = await list(filters, { ordering, page, pageSize: 100 });
      ids.push(...p.results.map((r) => r.id));
      if (p.results.length < 100) return ids;
    }
  }

  const orderings = ORDERING_FIELDS.flatMap((f) => [f, `-${f}`]);
  const filterSets: ExecutionFilters[] = [{}, { status: 'SUCCESS' }, { module: 'mod_1', createdById: 2 }];

  it.each(orderings)('walks %s forward and back by cursor, as offset paging orders it', async (ordering) => {
    for (const filters of filterSets) {
      const expected = await byOffset(filters, ordering);
      const forward: number[] = [];
      let page = await list(filters, { ordering, pageSize: 7 });
      expect(page.previousCursor).toBeNull();
      const pages = [page];
      forward.push(...page.results.map((r) => r.id));
      while (page.nextCursor) {
        page = await list(filters, { ordering, pageSize: 7, cursor: page.nextCursor });
        pages.push(page);
        forward.push(...page.results.map((r) => r.id));
      }
      expect(forward, JSON.stringify(filters)).toEqual(expected);
      // Backward from the last page, by previousCursor: the same pages in reverse.
      const backward: number[][] = [page.results.map((r) => r.id)];
      while (page.previousCursor) {
        page = await list(filters, { ordering, pageSize: 7, cursor: page.previousCursor });
        backward.unshift(page.results.map((r) => r.id));
      }
      expect(backward.flat(), `${JSON.stringify(filters)} backward`).toEqual(expected);
      expect(backward.length).toBe(pages.length);
    }
  });

  it('gives offset pages cursors too, and counts exactly on a small table', async () => {
    const p2 = await list({}, { page: 2, pageSize: 10 });
    expect(p2.count).toBe(61);
    expect(p2.countIsExact).toBe(true);
    const p3 = await list({}, { pageSize: 10, cursor: p2.nextCursor! });
    expect(p3.results.map((r) => r.id)).toEqual((await list({}, { page: 3, pageSize: 10 })).results.map((r) => r.id));
    const p1 = await list({}, { pageSize: 10, cursor: p2.previousCursor! });
    expect(p1.results.map((r) => r.id)).toEqual((await list({}, { page: 1, pageSize: 10 })).results.map((r) => r.id));
    const last = await list({}, { page: 7, pageSize: 10 });
    expect(last.results).toHaveLength(1);
    expect(last.nextCursor).toBeNull();
  });

  it('refuses a malformed cursor and a cursor of another ordering, naming the cursor', async () => {
    const page = await list({}, { ordering: '-created_at', pageSize: 5 });
    for (const [cursor, ordering] of [
      ['not a cursor', '-created_at'],
      [Buffer.from('{"a":1}').toString('base64url'), '-created_at'],
      [page.nextCursor!, 'created_at'],
      [Buffer.from('["-created_at","not a date",5]').toString('base64url'), '-created_at'],
    ]) {
      const error = await list({}, { ordering, cursor }).catch((e) => e);
      expect(error, cursor).toBeInstanceOf(ValidationError);
      expect(error.field).toBe('cursor');
    }
  });

  it.runIf(dialect === 'postgres')('keeps microsecond timestamps apart in a cursor walk', async () => {
    // Rows written by other means (a SQL copy, the Django module) keep microseconds that a JS Date drops.
    await sql`insert into agentcore_task_execution (task_id, task_name, module, status, created_at, updated_at)
      select 'micro-' || i, 'micro', 'micro', 'SUCCESS',
        timestamptz '2027-01-01 00:00:00.123Z' + i * interval '1 microsecond', now()
      from generate_series(1, 9) as g(i)`.execute(tasks.db);
    const expected = await byOffset({ module: 'micro' }, 'created_at');
    const seen: number[] = [];
    let page = await list({ module: 'micro' }, { ordering: 'created_at', pageSize: 2 });
    seen.push(...page.results.map((r) => r.id));
    while (page.nextCursor) {
      page = await list({ module: 'micro' }, { ordering: 'created_at', pageSize: 2, cursor: page.nextCursor });
      seen.push(...page.results.map((r) => r.id));
    }
    expect(seen).toEqual(expected);
    expect(seen).toHaveLength(9);
  });

  it('counts exactly up to the bound, then estimates on PostgreSQL (countIsExact: false)', async () => {
    const extra = EXACT_COUNT_BOUND + 500;
    const batch: ImportRun[] = [];
    for (let i = 0; i < extra; i++) {
      batch.push(run(i, 'big'));
      if (batch.length === 2000) await tasks.tracker.store.importRuns(batch.splice(0));
    }
    await tasks.tracker.store.importRuns(batch);
    if (dialect === 'postgres') await sql`analyze agentcore_task_execution`.execute(tasks.db);
    const exact = async (where: string) =>
      Number(
        (
          await sql<{ n: number }>`select count(*) as n from agentcore_task_execution where ${sql.raw(where)}`.execute(
            tasks.db,
          )
        ).rows[0].n,
      );
    // Covered by the aggregates: exact whatever the size.
    const all = await list({}, { pageSize: 5 });
    expect(all.count).toBe(await exact('1 = 1'));
    expect(all.countIsExact).toBe(true);
    const success = await list({ status: 'SUCCESS' }, {});
    expect(success.count).toBe(await exact(`status = 'SUCCESS'`));
    // Not covered (search), under the bound: exact.
    const few = await list({ search: 'ks-1' }, {});
    expect(few.count).toBe(await exact(`task_id like '%ks-1%'`));
    expect(few.countIsExact).toBe(true);
    // Not covered, past the bound: an estimate on PostgreSQL, above the bound; exact elsewhere.
    const many = await list({ search: 'big-' }, { pageSize: 3 });
    expect(many.results).toHaveLength(3);
    if (dialect === 'postgres') {
      expect(many.countIsExact).toBe(false);
      expect(many.count).toBeGreaterThan(EXACT_COUNT_BOUND);
    } else {
      expect(many.count).toBe(extra);
      expect(many.countIsExact).toBe(true);
    }
  });
});
