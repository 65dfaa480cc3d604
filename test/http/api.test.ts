/**
 * The REST API (SPEC section 10) over HTTP, run identically through the Web handler, Express and Fastify, on
 * PostgreSQL, MariaDB and SQLite. Expected lists and stats come from a brute force over the generated rows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../../src/errors.js';
import { executionDetailSchema, executionPageSchema, statsSchema } from '../../src/http/schemas.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import type { QueueJobState, QueueSource } from '../../src/queue/source.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import {
  type BruteFilters,
  BUSY_DAY,
  bruteList,
  bruteSeries,
  bruteStats,
  type ModelRow,
  seedRuns,
  setCreatedAt,
  TOKENS,
  USERS,
  type UserKey,
} from './fixtures.js';
import { MOUNTS, type Mounted, mount, PREFIX } from './mounts.js';

const LIST_FIELDS = [
  'id',
  'task_id',
  'task_name',
  'module',
  'status',
  'created_at',
  'started_at',
  'finished_at',
  'metadata',
  'created_by_id',
  'created_by_username',
  'duration',
  'is_completed',
  'is_running',
];
const DETAIL_FIELDS = [...LIST_FIELDS, 'task_args', 'task_kwargs', 'result', 'error', 'traceback', 'created_by'];

/** Bearer token, or the `session` cookie (proves cookies pass through every mount). */
function getUser(request: Request) {
  const bearer = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const cookie = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
  const token = bearer ?? cookie;
  const key = (Object.keys(TOKENS) as UserKey[]).find((k) => TOKENS[k] === token);
  return key ? USERS[key] : null;
}

const auth = (user: UserKey | null, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: {
    ...(init.headers as Record<string, string>),
    ...(user ? { authorization: `Bearer ${TOKENS[user]}` } : {}),
  },
});

/** A queue whose answers the test scripts, counting the calls (the project's own QueueSource interface). */
class ScriptedQueue implements QueueSource {
  calls: string[] = [];
  constructor(private readonly answer: () => QueueJobState | null) {}
  async getState(execution: { taskId: string }) {
    this.calls.push(execution.taskId);
    return this.answer();
  }
}

const endOfDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000 - 1);
const q = (params: Record<string, string | number | boolean | undefined>) =>
  new URLSearchParams(
    Object.entries(params)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();

describe.each(DIALECTS)('REST API on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let rows: ModelRow[];
  let extra = 0;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    rows = await seedRuns(tasks);
  }, 120_000);
  afterAll(async () => {
    await tasks?.close();
  });

  /** Everything a request could change: every row (status, timestamps, payloads) and the stored config. */
  async function snapshot(): Promise<string> {
    const runs = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select(['task_id', 'status', 'updated_at', 'started_at', 'finished_at', 'metadata', 'result', 'error'])
      .orderBy('id')
      .execute();
    const config = await tasks.db.selectFrom('agentcore_task_config').selectAll().orderBy('key').execute();
    return JSON.stringify({ runs, config });
  }

  /** A fresh run for tests that write, kept in the model so the brute force stays right. */
  async function extraRun(owner: UserKey, label: string): Promise<ModelRow> {
    const user = USERS[owner];
    const taskId = `extra-${label}-${++extra}`;
    const run = await tasks.tracker.registerTaskExecution({
      taskId,
      taskName: 'synctest.job',
      module: 'synctest',
      createdBy: { id: user.id, username: user.username },
      metadata: { tenant: 'acme' },
    });
    const row: ModelRow = {
      id: run!.id,
      taskId,
      taskName: 'synctest.job',
      module: 'synctest',
      status: 'PENDING',
      createdById: user.id,
      createdAt: new Date(Date.UTC(2023, 0, 1) + extra * 60_000), // before every filtered range
      metadata: { tenant: 'acme' },
    };
    await setCreatedAt(tasks, [row]);
    rows.push(row);
    return row;
  }

  describe.each(MOUNTS)('through %s', (mountName) => {
    let api: Mounted;
    beforeAll(async () => {
      api = await mount(mountName, tasks, getUser);
    });
    afterAll(async () => {
      await api?.close();
    });
    afterEach(async () => {
      tasks.tracker.queueSource = undefined;
      await tasks.settings.reset();
    });

    const get = (user: UserKey | null, path: string, init?: RequestInit) => api.request(path, auth(user, init));
    const getJson = async (user: UserKey | null, path: string, status = 200) => {
      const res = await get(user, path);
      const body = await res.json();
      expect(res.status, `${path} → ${JSON.stringify(body)}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      return body;
    };

    /** Every page of a list, following the absolute `next` links the API returns. */
    async function collect(user: UserKey, path: string) {
      let body = await getJson(user, path);
      const count = body.count;
      const ids: string[] = body.results.map((r: { task_id: string }) => r.task_id);
      let pages = 1;
      while (body.next) {
        const res = await api.requestUrl(body.next, auth(user));
        expect(res.status).toBe(200);
        body = executionPageSchema.parse(await res.json());
        expect(body.count).toBe(count);
        ids.push(...body.results.map((r: { task_id: string }) => r.task_id));
        pages++;
      }
      return { count, ids, pages };
    }

    const own = (user: UserKey): BruteFilters => ({ creator: USERS[user].id });

    it('answers 401 without a user on every route, with and without the trailing slash', async () => {
      const someId = rows[0].id;
      const routes: Array<[string, string]> = [
        ['GET', '/executions/'],
        ['GET', '/executions/my-tasks/'],
        ['GET', '/executions/stats/'],
        ['GET', `/executions/status/?task_id=${rows[0].taskId}`],
        ['GET', `/executions/by-task-id/${rows[0].taskId}/`],
        ['GET', `/executions/${someId}/`],
        ['POST', `/executions/${someId}/sync/`],
        ['GET', '/config/'],
        ['PATCH', '/config/'],
        ['GET', '/locks/'],
        ['GET', '/openapi.json'],
      ];
      const before = await snapshot();
      for (const [method, path] of routes) {
        for (const variant of [path, path.replace(/\/(\?|$)/, '$1')]) {
          const init: RequestInit = { method, ...(method === 'PATCH' ? { body: '{"timeout_minutes": 5}' } : {}) };
          const res = await get(null, variant, { ...init, headers: { 'content-type': 'application/json' } });
          expect(res.status, `${method} ${variant}`).toBe(401);
          expect(await res.json()).toEqual({ detail: expect.any(String), error: expect.any(String) });
        }
      }
      expect(await snapshot()).toBe(before);
    });

    it("lists the caller's own runs by default, with my_tasks=true and under my-tasks/", async () => {
      const expected = bruteList(rows, own('a')).map((r) => r.taskId);
      expect(expected.length).toBeGreaterThan(20);
      for (const path of [
        '/executions/?page_size=100',
        '/executions?my_tasks=true&page_size=100',
        '/executions/my-tasks/?page_size=100',
      ]) {
        const { count, ids } = await collect('a', path);
        expect(count, path).toBe(expected.length);
        expect(ids, path).toEqual(expected);
      }
      const bob = await collect('b', '/executions/my-tasks?page_size=100&my_tasks=false&created_by=1');
      expect(bob.ids).toEqual(bruteList(rows, own('b')).map((r) => r.taskId));
    });

    it('serializes list items and details exactly as the seed (snake_case, ISO UTC, derived fields)', async () => {
      const page = executionPageSchema.parse(await getJson('a', '/executions/?page_size=5'));
      for (const item of page.results) expect(Object.keys(item).sort()).toEqual([...LIST_FIELDS].sort());
      const failed = bruteList(rows, { ...own('a'), status: 'FAILURE' })[0];
      const detail = await getJson('a', `/executions/${failed.id}/`);
      expect(Object.keys(detail).sort()).toEqual([...DETAIL_FIELDS].sort());
      executionDetailSchema.strict().parse(detail);
      expect(detail).toMatchObject({
        id: failed.id,
        task_id: failed.taskId,
        task_name: failed.taskName,
        module: failed.module,
        status: 'FAILURE',
        created_at: failed.createdAt.toISOString(),
        created_by_id: USERS.a.id,
        created_by: USERS.a.id,
        created_by_username: 'alice',
        metadata: failed.metadata,
        task_args: [],
        task_kwargs: {},
        error: 'boom',
        traceback: 'at x',
        result: null,
        is_completed: true,
        is_running: false,
      });
      expect(detail.finished_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });

    it('forbids widening the scope without canViewAll (403 with a message), and allows it to the admin', async () => {
      for (const path of [
        '/executions/?my_tasks=false',
        `/executions/?created_by=${USERS.b.id}`,
        '/executions/stats/?my_tasks=false',
        `/executions/stats?created_by=${USERS.admin.id}`,
      ]) {
        const body = await getJson('a', path, 403);
        expect(body).toEqual({ detail: expect.stringMatching(/permission/), error: body.detail });
      }
      const mine = await getJson('a', `/executions/?created_by=${USERS.a.id}&page_size=100`);
      expect(mine.count).toBe(bruteList(rows, own('a')).length);

      const all = await collect('admin', '/executions/?my_tasks=false&page_size=100');
      expect(all.ids).toEqual(bruteList(rows, { creator: 'all' }).map((r) => r.taskId));
      expect(all.ids.length).toBe(rows.length);
      const bobs = await collect('admin', `/executions/?created_by=${USERS.b.id}&page_size=100`);
      expect(bobs.ids).toEqual(bruteList(rows, own('b')).map((r) => r.taskId));
      const adminOwn = await collect('admin', '/executions/?page_size=100');
      expect(adminOwn.ids).toEqual(bruteList(rows, own('admin')).map((r) => r.taskId));
    });

    it("never shows another user's run, or a run with no creator, by id, task id or status: 404 as for a missing run", async () => {
      const bobs = rows.find((r) => r.createdById === USERS.b.id)!;
      const system = rows.find((r) => r.createdById === null)!;
      const missingId = Math.max(...rows.map((r) => r.id)) + 1000;
      const before = await snapshot();
      for (const run of [bobs, system]) {
        for (const path of [
          `/executions/${run.id}/`,
          `/executions/by-task-id/${run.taskId}/`,
          `/executions/by-task-id/${run.taskId}/?sync=false`,
          `/executions/status/?task_id=${run.taskId}`,
        ]) {
          const notFound = await getJson('a', path, 404);
          expect(notFound).toEqual({ detail: 'Not found.' });
          await getJson('admin', path, 200);
        }
      }
      expect(await getJson('a', `/executions/${missingId}/`, 404)).toEqual({ detail: 'Not found.' });
      expect(await getJson('a', '/executions/by-task-id/no-such-task/', 404)).toEqual({ detail: 'Not found.' });
      expect(await getJson('a', '/executions/status/?task_id=no-such-task', 404)).toEqual({ detail: 'Not found.' });
      expect(await snapshot()).toBe(before);
      const mine = rows.find((r) => r.createdById === USERS.a.id)!;
      expect((await getJson('a', `/executions/by-task-id/${encodeURIComponent(mine.taskId)}`)).id).toBe(mine.id);
      expect((await getJson('a', `/executions/status?task_id=${mine.taskId}&sync=false`)).id).toBe(mine.id);
    });

    it('combined filters (module + status + date range + search + metadata key) equal the brute force', async () => {
      // Filters built around a few real rows, so each combination matches something.
      const targets = [rows[3], rows[40], rows[77], rows[121], rows[130]];
      for (const target of targets) {
        const day = target.createdAt.toISOString().slice(0, 10);
        const startDay = new Date(target.createdAt.getTime() - 10 * 86_400_000).toISOString().slice(0, 10);
        const search = target.taskName.split('.')[1].slice(0, 4).toUpperCase();
        const params = {
          my_tasks: 'false',
          module: target.module,
          status: target.status,
          start_date: startDay,
          end_date: day,
          search,
          'metadata.tenant': String(target.metadata.tenant),
          page_size: 3,
        };
        const expected = bruteList(rows, {
          creator: 'all',
          module: target.module,
          status: target.status,
          start: new Date(`${startDay}T00:00:00Z`),
          end: endOfDay(day),
          search,
          metadata: { tenant: String(target.metadata.tenant) },
        });
        expect(expected.map((r) => r.taskId)).toContain(target.taskId);
        const { ids, count } = await collect('admin', `/executions/?${q(params)}`);
        expect(count).toBe(expected.length);
        expect(ids).toEqual(expected.map((r) => r.taskId));
      }
    });

    it('filters as a scoped user: task_name, datetime bounds, search on task id, numeric metadata, two metadata keys', async () => {
      const cases: Array<[Record<string, string | number>, BruteFilters]> = [
        [{ task_name: 'billing.send_report' }, { task_name: 'billing.send_report' }],
        [
          { start_date: '2024-04-01T06:30:00Z', end_date: '2024-04-20T12:00:00' },
          { start: new Date('2024-04-01T06:30:00Z'), end: new Date('2024-04-20T12:00:00Z') },
        ],
        [{ search: 'run-00' }, { search: 'run-00' }],
        [{ 'metadata.n': 14 }, { metadata: { n: '14' } }],
        [{ 'metadata.tenant': 'globex', 'metadata.batch': 'b0' }, { metadata: { tenant: 'globex', batch: 'b0' } }],
        [
          { start_date: BUSY_DAY, end_date: BUSY_DAY, status: 'SUCCESS' },
          { start: new Date(`${BUSY_DAY}T00:00:00Z`), end: endOfDay(BUSY_DAY), status: 'SUCCESS' },
        ],
      ];
      let nonEmpty = 0;
      for (const [params, filters] of cases) {
        const expected = bruteList(rows, { ...own('a'), ...filters }).map((r) => r.taskId);
        if (expected.length > 0) nonEmpty++;
        const { ids } = await collect('a', `/executions/?${q({ ...params, page_size: 100 })}`);
        expect(ids, JSON.stringify(params)).toEqual(expected);
      }
      expect(nonEmpty).toBeGreaterThanOrEqual(5);
    });

    it('orders by each field with id as the tie-breaker', async () => {
      const mine = bruteList(rows, own('a'));
      const by = (key: 'createdAt' | 'taskName' | 'status', dir: 1 | -1) =>
        [...mine]
          .sort((x, y) => {
            const a = x[key] instanceof Date ? (x[key] as Date).getTime() : String(x[key]);
            const b = y[key] instanceof Date ? (y[key] as Date).getTime() : String(y[key]);
            return (a < b ? -1 : a > b ? 1 : 0) * dir || (x.id - y.id) * dir;
          })
          .map((r) => r.taskId);
      const cases: Array<[string, string[]]> = [
        ['created_at', by('createdAt', 1)],
        ['-created_at', by('createdAt', -1)],
        ['task_name', by('taskName', 1)],
        ['-status', by('status', -1)],
      ];
      for (const [ordering, expected] of cases) {
        const { ids } = await collect('a', `/executions/?ordering=${ordering}&page_size=100`);
        expect(ids, ordering).toEqual(expected);
      }
    });

    it('paginates with absolute next/previous URLs; a page past the end is 404 "Invalid page."; page_size is clamped to 100', async () => {
      const all = bruteList(rows, { creator: 'all' });
      expect(all.length).toBeGreaterThan(100);
      const first = executionPageSchema.parse(await getJson('admin', '/executions/?my_tasks=false&page_size=100000'));
      expect(first.results).toHaveLength(100);
      expect(first.count).toBe(all.length);
      expect(first.previous).toBeNull();
      expect(new URL(first.next!).pathname.replace(/\/$/, '')).toBe(`${PREFIX}/executions`);
      expect(new URL(first.next!).searchParams.get('page')).toBe('2');
      const second = executionPageSchema.parse(await (await api.requestUrl(first.next!, auth('admin'))).json());
      expect(second.results.map((r) => r.task_id)).toEqual(all.slice(100).map((r) => r.taskId));
      expect(second.next).toBeNull();
      expect(new URL(second.previous!).searchParams.has('page')).toBe(false);
      const back = executionPageSchema.parse(await (await api.requestUrl(second.previous!, auth('admin'))).json());
      expect(back.results.map((r) => r.task_id)).toEqual(first.results.map((r) => r.task_id));

      expect(await getJson('admin', '/executions/?my_tasks=false&page_size=100&page=3', 404)).toEqual({
        detail: 'Invalid page.',
      });
      expect(await getJson('a', '/executions/?page=999999999999999999999', 404)).toEqual({ detail: 'Invalid page.' });
      const defaults = await getJson('a', '/executions/');
      expect(defaults.results).toHaveLength(10);
      // An empty first page is a page, not an error.
      expect(await getJson('a', '/executions/?module=no-such-module')).toEqual({
        count: 0,
        next: null,
        previous: null,
        results: [],
      });
    });

    it('include_metadata=false nulls metadata; metadata_fields keeps only the listed keys', async () => {
      const without = await getJson('a', '/executions/?include_metadata=false&page_size=20');
      expect(without.results.length).toBe(20);
      for (const item of without.results) expect(item.metadata).toBeNull();
      const picked = await getJson('a', '/executions/?metadata_fields=tenant,%20batch&page_size=20');
      const byId = new Map(rows.map((r) => [r.taskId, r]));
      for (const item of picked.results) {
        const model = byId.get(item.task_id)!;
        const expected: Record<string, unknown> = { tenant: model.metadata.tenant };
        if ('batch' in model.metadata) expected.batch = model.metadata.batch;
        expect(item.metadata).toEqual(expected);
      }
    });

    it('answers 400 JSON naming the field for every malformed parameter, and writes nothing', async () => {
      const someRun = rows.find((r) => r.createdById === USERS.a.id)!;
      const cases: Array<[string, string]> = [
        ['/executions/?status=DONE', 'status'],
        ['/executions/?status=success', 'status'],
        ['/executions/?start_date=2024-13-45', 'start_date'],
        ['/executions/?end_date=yesterday', 'end_date'],
        ['/executions/?start_date=2024-02-30', 'start_date'],
        ['/executions/?page=abc', 'page'],
        ['/executions/?page=0', 'page'],
        ['/executions/?page=1.5', 'page'],
        ['/executions/?page_size=ten', 'page_size'],
        ['/executions/?page_size=-1', 'page_size'],
        ['/executions/?page_size=0', 'page_size'],
        ['/executions/abc/', 'id'],
        ['/executions/1.5/', 'id'],
        ['/executions/?created_by=bob', 'created_by'],
        ['/executions/?created_by=1.0', 'created_by'],
        ['/executions/?ordering=priority', 'ordering'],
        ['/executions/?ordering=--created_at', 'ordering'],
        ['/executions/?my_tasks=maybe', 'my_tasks'],
        ['/executions/?include_metadata=no', 'include_metadata'],
        ['/executions/?metadata.bad-key=1', 'metadata.bad-key'],
        ['/executions/?metadata.=1', 'metadata.'],
        ['/executions/my-tasks/?status=NOPE', 'status'],
        ['/executions/stats/?granularity=week', 'granularity'],
        ['/executions/stats/?created_by=x', 'created_by'],
        ['/executions/stats/?start_date=15/04/2024', 'start_date'],
        ['/executions/status/', 'task_id'],
        ['/executions/status/?task_id=', 'task_id'],
        [`/executions/status/?task_id=${someRun.taskId}&sync=perhaps`, 'sync'],
        [`/executions/by-task-id/${someRun.taskId}/?sync=2`, 'sync'],
      ];
      tasks.tracker.queueSource = new ScriptedQueue(() => ({ status: 'SUCCESS', result: { must: 'not be written' } }));
      const before = await snapshot();
      for (const [path, field] of cases) {
        const body = await getJson('a', path, 400);
        expect(body, path).toEqual({ error: expect.any(String), field });
        expect(body.error.length).toBeGreaterThan(5);
      }
      for (const path of ['/executions/abc/sync/', '/executions/0/sync/']) {
        const res = await get('a', path, { method: 'POST' });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({ error: expect.any(String), field: 'id' });
      }
      expect(await snapshot()).toBe(before);
    });

    it('stats equal the brute force counts with the same scoping, including by_module, by_task_name and filters', async () => {
      const strip = (s: Record<string, unknown>) => {
        const { series: _series, ...rest } = s;
        return rest;
      };
      const cases: Array<[UserKey, string, BruteFilters]> = [
        ['a', '', own('a')],
        ['a', 'my_tasks=true&module=billing', { ...own('a'), module: 'billing' }],
        [
          'b',
          `created_by=${USERS.b.id}&start_date=2024-04-01&end_date=2024-04-30`,
          { ...own('b'), start: new Date('2024-04-01T00:00:00Z'), end: endOfDay('2024-04-30') },
        ],
        ['admin', 'my_tasks=false', { creator: 'all' }],
        [
          'admin',
          `created_by=${USERS.a.id}&task_name=reports.build_report`,
          { ...own('a'), task_name: 'reports.build_report' },
        ],
      ];
      for (const [user, params, filters] of cases) {
        const stats = statsSchema.parse(await getJson(user, `/executions/stats/?${params}`));
        expect(stats.series).toBeUndefined();
        expect(strip(stats), `${user} ${params}`).toEqual(bruteStats(bruteList(rows, filters)));
      }
      // A never counts B's runs.
      const aStats = await getJson('a', '/executions/stats/');
      expect(aStats.total).toBe(bruteList(rows, own('a')).length);
      expect(aStats.total).toBeLessThan(rows.length);
    });

    it('stats series: day = 24 hourly buckets of start_date, month = 30 days to end_date, year = 12 months; empty buckets 0', async () => {
      const pad = (n: number) => String(n).padStart(2, '0');
      const allRows = bruteList(rows, { creator: 'all' });
      const dayStats = await getJson(
        'admin',
        `/executions/stats/?my_tasks=false&granularity=day&start_date=${BUSY_DAY}`,
      );
      const hours = Array.from({ length: 24 }, (_, h) => `${pad(h)}:00`);
      const onDay = allRows.filter((r) => r.createdAt.toISOString().startsWith(BUSY_DAY));
      expect(dayStats.series).toEqual(bruteSeries(onDay, hours, (d) => `${pad(d.getUTCHours())}:00`));
      expect(dayStats.series.filter((b: { count: number }) => b.count === 0).length).toBeGreaterThan(0);
      expect(dayStats.series.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(onDay.length);

      const monthStats = await getJson('a', '/executions/stats/?granularity=month&end_date=2024-04-20&module=mail');
      const days = Array.from({ length: 30 }, (_, i) =>
        new Date(Date.UTC(2024, 3, 20) - (29 - i) * 86_400_000).toISOString().slice(0, 10),
      );
      expect(monthStats.series).toEqual(
        bruteSeries(bruteList(rows, { ...own('a'), module: 'mail' }), days, (d) => d.toISOString().slice(0, 10)),
      );

      const yearStats = await getJson(
        'admin',
        `/executions/stats/?created_by=${USERS.b.id}&granularity=year&end_date=2024-05-31`,
      );
      const months = Array.from({ length: 12 }, (_, i) => {
        const d = new Date(Date.UTC(2024, 4 - 11 + i, 1));
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
      });
      const series = bruteSeries(bruteList(rows, own('b')), months, (d) => d.toISOString().slice(0, 7));
      expect(yearStats.series).toEqual(series);
      expect(series.slice(-3).every((b) => b.count > 0)).toBe(true);
    });

    it('sync without a queue source returns the row unchanged (200); with one, pulls the state into the row', async () => {
      const run = await extraRun('a', `${mountName}-nosource`);
      const before = await snapshot();
      const res = await get('a', `/executions/${run.id}/sync/`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: run.id, status: 'PENDING', result: null });
      expect(await snapshot()).toBe(before);

      const queue = new ScriptedQueue(() => ({ status: 'SUCCESS', result: { rows: 3 } }));
      tasks.tracker.queueSource = queue;
      const synced = await get('a', `/executions/${run.id}/sync`, { method: 'POST' });
      expect(synced.status).toBe(200);
      expect(await synced.json()).toMatchObject({
        id: run.id,
        status: 'SUCCESS',
        result: { rows: 3 },
        is_completed: true,
      });
      expect(queue.calls).toEqual([run.taskId]);
      run.status = 'SUCCESS';
      expect((await tasks.tracker.getTask(run.taskId))?.status).toBe('SUCCESS');
    });

    it('by-task-id and status sync by default and not with sync=false', async () => {
      const run = await extraRun('a', `${mountName}-default`);
      const queue = new ScriptedQueue(() => ({ status: 'STARTED' }));
      tasks.tracker.queueSource = queue;
      expect(await getJson('a', `/executions/by-task-id/${run.taskId}/?sync=false`)).toMatchObject({
        status: 'PENDING',
      });
      expect(await getJson('a', `/executions/status/?task_id=${run.taskId}&sync=false`)).toMatchObject({
        status: 'PENDING',
      });
      expect(queue.calls).toEqual([]);
      expect(await getJson('a', `/executions/status/?task_id=${run.taskId}`)).toMatchObject({
        status: 'STARTED',
        is_running: true,
      });
      expect(queue.calls).toEqual([run.taskId]);
      run.status = 'STARTED';
      expect(await getJson('a', `/executions/by-task-id/${run.taskId}/?sync=TRUE`)).toMatchObject({
        status: 'STARTED',
      });
      expect(queue.calls).toHaveLength(2);
    });

    it('an unreachable queue is 503 with the row unchanged', async () => {
      const run = await extraRun('a', `${mountName}-down`);
      tasks.tracker.queueSource = new ScriptedQueue(() => {
        throw new BackendUnavailableError('queue could not be reached: connect ECONNREFUSED');
      });
      const before = await snapshot();
      const res = await get('a', `/executions/${run.id}/sync/`, { method: 'POST' });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        detail: expect.stringContaining('queue'),
        error: expect.stringContaining('queue'),
      });
      await getJson('a', `/executions/by-task-id/${run.taskId}/`, 503);
      await getJson('a', `/executions/status/?task_id=${run.taskId}`, 503);
      expect(await snapshot()).toBe(before);
    });

    it("A cannot sync B's run through any endpoint (404, the queue is not even asked); the admin can", async () => {
      const bobs = await extraRun('b', `${mountName}-bob`);
      const queue = new ScriptedQueue(() => ({ status: 'FAILURE', error: 'from queue' }));
      tasks.tracker.queueSource = queue;
      const before = await snapshot();
      const post = await get('a', `/executions/${bobs.id}/sync/`, { method: 'POST' });
      expect(post.status).toBe(404);
      expect(await post.json()).toEqual({ detail: 'Not found.' });
      await getJson('a', `/executions/by-task-id/${bobs.taskId}/`, 404);
      await getJson('a', `/executions/status/?task_id=${bobs.taskId}&sync=true`, 404);
      expect(queue.calls).toEqual([]);
      expect(await snapshot()).toBe(before);
      const admin = await get('admin', `/executions/${bobs.id}/sync/`, { method: 'POST' });
      expect(admin.status).toBe(200);
      expect(await admin.json()).toMatchObject({ status: 'FAILURE', error: 'from queue', created_by_id: USERS.b.id });
      bobs.status = 'FAILURE';
    });

    it('config: GET shows the effective settings; PATCH is for admins, validated, all-or-nothing, effective at once', async () => {
      const config = await getJson('a', '/config/');
      expect(config).toEqual({
        cleanup_enabled: true,
        cleanup_crontab: '0 2 * * *',
        cleanup_beat_interval_hours: 24,
        retention_days: 30,
        cleanup_only_completed: true,
        mark_timeout_enabled: true,
        mark_timeout_crontab: '*/30 * * * *',
        timeout_minutes: 10,
      });
      const patch = (
        user: UserKey,
        body: string,
        headers: Record<string, string> = { 'content-type': 'application/json' },
      ) => get(user, '/config/', { method: 'PATCH', body, headers });
      const before = await snapshot();
      const forbidden = await patch('a', '{"timeout_minutes": 15}');
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({
        detail: expect.stringMatching(/admin/),
        error: expect.stringMatching(/admin/),
      });
      const invalid: Array<[string, string]> = [
        ['{"timeout_minutes": 0}', 'timeout_minutes'],
        ['{"timeout_minutes": 1441}', 'timeout_minutes'],
        ['{"retention_days": 3651}', 'retention_days'],
        ['{"retention_days": 1.5}', 'retention_days'],
        ['{"cleanup_crontab": "every day"}', 'cleanup_crontab'],
        ['{"mark_timeout_crontab": "61 * * * *"}', 'mark_timeout_crontab'],
        ['{"cleanup_enabled": "yes"}', 'cleanup_enabled'],
        ['{"timeout_minutes": 15, "retention_days": "x"}', 'retention_days'],
        ['{"timeout_minutes": 15, "no_such_setting": 1}', 'no_such_setting'],
        ['[1, 2]', 'body'],
        ['{"timeout_minutes": ', 'body'],
      ];
      for (const [body, field] of invalid) {
        const res = await patch('admin', body);
        expect(res.status, body).toBe(400);
        // Malformed JSON never reaches the Express mount: the host's express.json() before it answers 400 itself.
        if (mountName === 'express' && body.endsWith(': ')) continue;
        expect(await res.json(), body).toEqual({ error: expect.any(String), field });
      }
      expect(await snapshot()).toBe(before);
      expect((await tasks.settings.get()).timeoutMinutes).toBe(10);

      const ok = await patch('admin', '{"timeout_minutes": 15, "retention_days": 7, "cleanup_crontab": "0 3 * * *"}');
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ timeout_minutes: 15, retention_days: 7, cleanup_crontab: '0 3 * * *' });
      expect(await getJson('b', '/config')).toMatchObject({ timeout_minutes: 15, retention_days: 7 });
      expect(await tasks.settings.get()).toMatchObject({
        timeoutMinutes: 15,
        retentionDays: 7,
        cleanupCrontab: '0 3 * * *',
      });
    });

    it('locks/ is for admins only and lists the held locks', async () => {
      const name = `http_test_${mountName}`;
      expect(await tasks.locks.acquireTaskLock(name, 60)).toBe(true);
      try {
        expect(await getJson('a', '/locks/', 403)).toEqual({ detail: expect.any(String), error: expect.any(String) });
        const body = await getJson('admin', '/locks');
        expect(body.count).toBe(body.results.length);
        const entry = body.results.find((l: { name: string }) => l.name === name);
        expect(entry).toEqual({ name, owner: expect.any(String), expires_at: expect.stringMatching(/Z$/) });
        expect(Date.parse(entry.expires_at) - Date.now()).toBeGreaterThan(50_000);
      } finally {
        await tasks.locks.releaseTaskLock(name);
      }
      const after = await getJson('admin', '/locks/');
      expect(after.results.map((l: { name: string }) => l.name)).not.toContain(name);
    });

    it('passes cookies and the native request through to getUser', async () => {
      const res = await api.request('/executions/?page_size=1', {
        headers: { cookie: `theme=dark; session=${TOKENS.b}` },
      });
      expect(res.status).toBe(200);
      expect((await res.json()).count).toBe(bruteList(rows, own('b')).length);
      if (mountName === 'express')
        expect(api.lastNative).toMatchObject({ baseUrl: PREFIX, originalUrl: `${PREFIX}/executions/?page_size=1` });
      if (mountName === 'fastify') expect(api.lastNative).toMatchObject({ url: `${PREFIX}/executions/?page_size=1` });
      if (mountName === 'web') expect(api.lastNative).toBeUndefined();
    });

    it('answers unknown paths with 404 (Express hands them to the next route)', async () => {
      const res = await get('a', '/host-route');
      if (mountName === 'express') expect(await res.json()).toEqual({ host: true });
      else {
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({ detail: 'Not found.' });
      }
      const noUser = await get(null, '/no-such-route/');
      expect(noUser.status).toBe(404);
    });
  });
});
