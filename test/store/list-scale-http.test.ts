/**
 * The wire of keyset paging and estimated counts (issue 17): `cursor` query parameter, `next`/`previous` links that
 * carry it, `count_is_exact: false` only when the count is an estimate, `page=N` unchanged, a bad cursor a 400 naming
 * `cursor`. PostgreSQL (the only database that estimates) through the in-process handler.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { EXACT_COUNT_BOUND } from '../../src/store/execution-store.js';
import { type ImportRun, toImportRun } from '../../src/store/import.js';
import { useTestDatabase } from '../helpers/databases.js';

const ADMIN = { id: 1, username: 'admin', isAdmin: true };

describe('list paging over HTTP on postgres', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let handler: (request: Request) => Promise<Response>;
  const get = async (url: string) => {
    const response = await handler(new Request(url.startsWith('http') ? url : `http://localhost${url}`));
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false, env: {} });
    handler = tasks.handler({ getUser: () => ADMIN });
    const runs: ImportRun[] = [];
    const base = Date.parse('2026-03-01T00:00:00Z');
    for (let i = 0; i < EXACT_COUNT_BOUND + 200; i++) {
      runs.push(
        toImportRun({
          task_id: `wire-${i}`,
          task_name: i % 10 === 0 ? 'rare.job' : 'common.job',
          module: 'wire',
          status: i % 2 ? 'SUCCESS' : 'FAILURE',
          created_at: new Date(base + i * 1000).toISOString(),
        }),
      );
      if (runs.length === 2000) await tasks.tracker.store.importRuns(runs.splice(0));
    }
    await tasks.tracker.store.importRuns(runs);
    await sql`analyze agentcore_task_execution`.execute(tasks.db);
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('keeps page links and omits count_is_exact when the count is exact', async () => {
    const { status, body } = await get('/executions/?my_tasks=false&task_name=rare.job&page_size=50&page=2');
    expect(status).toBe(200);
    expect(body.count).toBe((EXACT_COUNT_BOUND + 200) / 10);
    expect(body).not.toHaveProperty('count_is_exact');
    expect(new URL(body.next).searchParams.get('page')).toBe('3');
    expect(new URL(body.previous).searchParams.has('page')).toBe(false);
    const past = await get('/executions/?my_tasks=false&task_name=rare.job&page_size=50&page=999');
    expect(past.status).toBe(404);
  });

  it('marks an estimated count and links the next page by cursor', async () => {
    const { body } = await get('/executions/?my_tasks=false&search=wire-&page_size=5');
    expect(body.count_is_exact).toBe(false);
    expect(body.count).toBeGreaterThan(EXACT_COUNT_BOUND);
    const next = new URL(body.next);
    expect(next.searchParams.has('cursor')).toBe(true);
    expect(next.searchParams.has('page')).toBe(false);
    // page=N still answers by offset, with the same rows the cursor walk reaches.
    const page2 = await get('/executions/?my_tasks=false&search=wire-&page_size=5&page=2');
    const viaCursor = await get(body.next);
    expect(viaCursor.body.results.map((r: { id: number }) => r.id)).toEqual(
      page2.body.results.map((r: { id: number }) => r.id),
    );
    const back = await get(viaCursor.body.previous);
    expect(back.body.results).toEqual(body.results);
    expect(back.body.previous).toBeNull();
  });

  it('follows next links by cursor through a whole list, each row once', async () => {
    // An estimated list: the first page links the next by cursor, and every page after it too.
    const first = await get('/executions/?my_tasks=false&search=wire-&ordering=created_at&page_size=100');
    const ids: number[] = first.body.results.map((r: { id: number }) => r.id);
    let url: string | null = first.body.next;
    while (url) {
      expect(new URL(url).searchParams.has('cursor')).toBe(true);
      const { status, body } = await get(url);
      expect(status).toBe(200);
      expect(body.count_is_exact).toBe(false);
      ids.push(...body.results.map((r: { id: number }) => r.id));
      url = body.next;
    }
    expect(ids).toHaveLength(EXACT_COUNT_BOUND + 200);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });

  it('answers a bad cursor with 400 naming cursor', async () => {
    for (const cursor of ['%%%', 'WyJ4Il0', 'x'.repeat(3000)]) {
      const { status, body } = await get(`/executions/?my_tasks=false&cursor=${cursor}`);
      expect(status, cursor).toBe(400);
      expect(body.field).toBe('cursor');
    }
  });
});
