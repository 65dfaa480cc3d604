/**
 * `GET executions/export/` on PostgreSQL, MariaDB and SQLite, through the Web handler, Express and Fastify: the rows
 * the list would show (filters, ordering, scoping) as CSV or JSON, streamed, bounded with a trailer saying so, as an
 * attachment, with the list's authorization. Expected rows come from the brute force and from paging the list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvField } from '../../src/http/export.js';
import { exportJsonSchema } from '../../src/http/schemas.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { scanExecutions } from '../../src/store/scan.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { type BruteFilters, bruteList, type ModelRow, seedRuns, TOKENS, USERS, type UserKey } from './fixtures.js';
import { MOUNTS, type Mounted, mount } from './mounts.js';

function getUser(request: Request) {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const key = (Object.keys(TOKENS) as UserKey[]).find((k) => TOKENS[k] === token);
  return key ? USERS[key] : null;
}

/** RFC 4180 records (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

const auth = (user: UserKey | null): RequestInit =>
  user ? { headers: { authorization: `Bearer ${TOKENS[user]}` } } : {};

describe.each(DIALECTS)('export on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let rows: ModelRow[];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'memory' });
    rows = await seedRuns(tasks);
  }, 120_000);
  afterAll(async () => {
    await tasks?.close();
  });

  /** Every id the list shows under `params`, paging through it (the oracle for orderings the model cannot sort). */
  async function listIds(api: Mounted, user: UserKey, params: string): Promise<number[]> {
    const ids: number[] = [];
    for (let page = 1; ; page++) {
      const res = await api.request(`/executions/?${params}&page_size=100&page=${page}`, auth(user));
      const body = await res.json();
      ids.push(...body.results.map((r: { id: number }) => r.id));
      if (!body.next) return ids;
    }
  }

  describe.each(MOUNTS)('through %s', (mountName) => {
    let api: Mounted;
    beforeAll(async () => {
      api = await mount(mountName, tasks, getUser);
    });
    afterAll(async () => {
      await api?.close();
    });

    it('CSV by default: the caller’s own runs in the list’s order, as an attachment with the list’s headers', async () => {
      const res = await api.request('/executions/export/', auth('a'));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=UTF-8');
      expect(res.headers.get('content-disposition')).toMatch(
        /^attachment; filename="agentcore-task-runs-\d{8}T\d{6}Z\.csv"$/,
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-export-limit')).toBe('100000');
      const [header, ...records] = parseCsv(await res.text());
      expect(header).toEqual([...CSV_COLUMNS]);
      const expected = bruteList(rows, { creator: USERS.a.id });
      expect(records.map((r) => Number(r[0]))).toEqual(expected.map((r) => r.id));
      const first = Object.fromEntries(header.map((h, i) => [h, records[0][i]]));
      expect(first).toMatchObject({
        task_id: expected[0].taskId,
        task_name: expected[0].taskName,
        status: expected[0].status,
        created_at: expected[0].createdAt.toISOString(),
        created_by_id: '1',
        created_by_username: 'alice',
      });
      expect(JSON.parse(first.metadata)).toEqual(expected[0].metadata);
    });

    it('JSON with the list filters and an admin’s all-users scope equals the brute force; count and truncated', async () => {
      const cases: Array<[string, BruteFilters]> = [
        ['my_tasks=false&status=FAILURE', { creator: 'all', status: 'FAILURE' }],
        [
          'my_tasks=false&module=billing&start_date=2024-04-01&end_date=2024-04-30&search=REPORT',
          {
            creator: 'all',
            module: 'billing',
            start: new Date('2024-04-01T00:00:00Z'),
            end: new Date('2024-04-30T23:59:59.999Z'),
            search: 'REPORT',
          },
        ],
        [`created_by=${USERS.b.id}&metadata.tenant=acme`, { creator: USERS.b.id, metadata: { tenant: 'acme' } }],
      ];
      for (const [params, filters] of cases) {
        const res = await api.request(`/executions/export/?format=json&${params}`, auth('admin'));
        expect(res.status, params).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=UTF-8');
        expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.json"$/);
        const body = exportJsonSchema.parse(await res.json());
        const expected = bruteList(rows, filters);
        expect(expected.length, params).toBeGreaterThan(0);
        expect(
          body.results.map((r) => r.id),
          params,
        ).toEqual(expected.map((r) => r.id));
        expect(body.count).toBe(expected.length);
        expect(body.truncated).toBe(false);
      }
    });

    it('orderings as the list: ascending and descending, nullable columns and ties', async () => {
      for (const ordering of ['task_name', '-status', 'created_at', '-finished_at', 'started_at']) {
        const params = `my_tasks=false&ordering=${ordering}`;
        const res = await api.request(`/executions/export/?format=json&${params}`, auth('admin'));
        const body = await res.json();
        expect(
          body.results.map((r: { id: number }) => r.id),
          ordering,
        ).toEqual(await listIds(api, 'admin', params));
      }
    });

    it('limit bounds the rows; a trailer says when more match, none when exactly all fit', async () => {
      const all = bruteList(rows, { creator: USERS.a.id }).length;
      const csv = await (await api.request('/executions/export/?limit=5', auth('a'))).text();
      const lines = csv.trimEnd().split('\r\n');
      expect(lines).toHaveLength(1 + 5 + 1);
      expect(lines.at(-1)).toBe('# truncated: more than 5 runs match these filters');
      const json = await (await api.request(`/executions/export/?format=json&limit=${all - 1}`, auth('a'))).json();
      expect(json).toMatchObject({ count: all - 1, truncated: true });
      const exact = await api.request(`/executions/export/?limit=${all}`, auth('a'));
      expect(exact.headers.get('x-export-limit')).toBe(String(all));
      const exactLines = (await exact.text()).trimEnd().split('\r\n');
      expect(exactLines).toHaveLength(1 + all);
      expect(exactLines.at(-1)).not.toMatch(/^#/);
      const exactJson = await (await api.request(`/executions/export/?format=json&limit=${all}`, auth('a'))).json();
      expect(exactJson).toMatchObject({ count: all, truncated: false });
      // Larger than the bound is clamped to it.
      const clamped = await api.request('/executions/export/?limit=999999999', auth('a'));
      expect(clamped.headers.get('x-export-limit')).toBe('100000');
      await clamped.body?.cancel();
    });

    it('the list’s authorization: 401 without a user, 403 widening the scope, 400 naming a bad parameter', async () => {
      expect((await api.request('/executions/export/', auth(null))).status).toBe(401);
      for (const params of ['my_tasks=false', `created_by=${USERS.b.id}`]) {
        const res = await api.request(`/executions/export/?${params}`, auth('a'));
        expect(res.status, params).toBe(403);
        expect(res.headers.get('content-disposition')).toBeNull();
        await res.body?.cancel();
      }
      for (const [params, field] of [
        ['format=xml', 'format'],
        ['status=NOPE', 'status'],
        ['ordering=id', 'ordering'],
        ['limit=0', 'limit'],
        ['start_date=yesterday', 'start_date'],
        ['metadata.a-b=1', 'metadata.a-b'],
      ]) {
        const res = await api.request(`/executions/export/?${params}`, auth('a'));
        expect(res.status, params).toBe(400);
        expect((await res.json()).field, params).toBe(field);
      }
    });
  });

  it('streams: the header goes out before the rows, which come in batches as they are read', async () => {
    const api = await mount('web', tasks, getUser);
    const res = await api.request('/executions/export/?my_tasks=false', auth('admin'));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunks: string[] = [];
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
    }
    expect(chunks[0]).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.join('').trimEnd().split('\r\n')).toHaveLength(1 + rows.length);
    // A client that goes away stops the reading.
    const early = await api.request('/executions/export/?my_tasks=false', auth('admin'));
    const r2 = (early.body as ReadableStream<Uint8Array>).getReader();
    await r2.read();
    await r2.cancel();
  });

  it('the scan crosses batch boundaries in every ordering exactly as the list pages (NULLs and ties included)', async () => {
    for (const ordering of ['-created_at', 'finished_at', '-started_at', 'status', '-task_name']) {
      const scanned: number[] = [];
      for await (const batch of scanExecutions(tasks.tracker.store, {}, { ordering, batchSize: 7 }))
        scanned.push(...batch.map((r) => r.id));
      const listed: number[] = [];
      for (let page = 1; ; page++) {
        const p = await tasks.tracker.listTaskExecutions({}, { ordering, page, pageSize: 100 });
        listed.push(...p.results.map((r) => r.id));
        if (p.page * p.pageSize >= p.count) break;
      }
      expect(scanned, ordering).toEqual(listed);
      expect(new Set(scanned).size).toBe(rows.length);
    }
  });

  it('text a spreadsheet would run as a formula is defused; commas, quotes and line breaks are quoted', async () => {
    const api = await mount('web', tasks, getUser);
    await tasks.tracker.registerTaskExecution({
      taskId: `csv-${dialect}`,
      taskName: '=HYPERLINK("http://x","y")',
      module: 'a,b',
      createdBy: { id: 1, username: '@alice' },
      metadata: { note: 'two\nlines "quoted"' },
    });
    const [header, ...records] = parseCsv(
      await (await api.request(`/executions/export/?search=csv-${dialect}`, auth('a'))).text(),
    );
    expect(records).toHaveLength(1);
    const row = Object.fromEntries(header.map((h, i) => [h, records[0][i]]));
    expect(row.task_name).toBe(`'=HYPERLINK("http://x","y")`);
    expect(row.module).toBe('a,b');
    expect(row.created_by_username).toBe(`'@alice`);
    expect(JSON.parse(row.metadata)).toEqual({ note: 'two\nlines "quoted"' });
    expect(csvField(-1.5, false)).toBe('-1.5');
  });
});

describe('export in the OpenAPI document', () => {
  it('is documented with both media types, its parameters and its errors', async () => {
    const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, realtime: 'memory' });
    try {
      const api = await mount('web', tasks, getUser);
      const doc = await (await api.request('/openapi.json', auth('a'))).json();
      const op = doc.paths['/executions/export/'].get;
      expect(op.operationId).toBe('exportExecutions');
      expect(Object.keys(op.responses[200].content).sort()).toEqual(['application/json', 'text/csv']);
      expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403']);
      const names = op.parameters.map((p: { name: string }) => p.name);
      for (const name of [
        'format',
        'limit',
        'ordering',
        'status',
        'search',
        'created_by',
        'my_tasks',
        'metadata.<key>',
      ])
        expect(names).toContain(name);
      expect(names).not.toContain('page');
    } finally {
      await tasks.close();
    }
  });
});
