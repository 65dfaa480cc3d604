/**
 * The two stream routes (SPEC section 10): scoping and filters as the list, cross-process delivery, detail
 * authorization, ids and resumption, heartbeat, the open-stream bound and shutdown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { formatComment, formatSse } from '../../src/http/sse.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { SseReader } from '../helpers/sse.js';
import { MOUNTS, type Mounted, mount } from './mounts.js';

const USERS = {
  a: { id: 1, username: 'alice' },
  b: { id: 2, username: 'bob' },
  admin: { id: 99, username: 'root', isAdmin: true },
} as const;
type UserKey = keyof typeof USERS;
const getUser = (request: Request) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1] as UserKey | undefined;
  return token && token in USERS ? USERS[token] : null;
};
let seq = 0;
const uid = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Handler = (request: Request) => Promise<Response>;
function client(handler: Handler) {
  return {
    get: (path: string, user: UserKey | null, headers: Record<string, string> = {}) =>
      handler(
        new Request(`http://test${path}`, {
          headers: { ...headers, ...(user ? { authorization: `Bearer ${user}` } : {}) },
        }),
      ),
    async open(path: string, user: UserKey, headers: Record<string, string> = {}) {
      const response = await this.get(path, user, headers);
      expect(response.status).toBe(200);
      return new SseReader(response);
    },
  };
}

describe('SSE formatting', () => {
  it('rejects CR/LF in event and id, and splits multi-line data', () => {
    expect(() => formatSse({ event: 'a\nb', data: 'x' })).toThrow(/event must not contain/);
    expect(() => formatSse({ id: '1\r', data: 'x' })).toThrow(/id must not contain/);
    expect(formatSse({ event: 'execution', id: '7', data: 'one\ntwo\r\nthree' })).toBe(
      'event: execution\ndata: one\ndata: two\ndata: three\nid: 7\n\n',
    );
    expect(formatComment('heartbeat')).toBe(': heartbeat\n\n');
  });
});

describe('stream routes on PostgreSQL', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let worker: AgentcoreTask; // another process writing to the same database
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    worker = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      migrate: false,
      onRecordError: 'throw',
    });
    api = client(createHandler(tasks, { getUser, streamHeartbeatMs: 100, maxStreams: 5 }));
  });
  afterAll(async () => {
    await worker?.close();
    await tasks?.close();
  });

  it('answers with text/event-stream, no-cache, and 401 without a user', async () => {
    const response = await api.get('/executions/stream/', 'a');
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    await response.body?.cancel();
    expect((await api.get('/executions/stream/', null)).status).toBe(401);
  });

  it("carries the user's own runs written by another process, never another user's", async () => {
    const a = await api.open('/executions/stream/', 'a');
    const b = await api.open('/executions/stream/', 'b');
    const admin = await api.open('/executions/stream/?my_tasks=false', 'admin');
    const runA = uid('a-run');
    const runB = uid('b-run');
    const started = Date.now();
    await worker.registerTaskExecution({
      taskId: runB,
      taskName: 'report',
      module: 'm',
      createdBy: { id: 2, username: 'bob' },
    });
    await worker.registerTaskExecution({
      taskId: runA,
      taskName: 'report',
      module: 'm',
      createdBy: { id: 1, username: 'alice' },
    });
    await worker.tracker.reportProgress(runB, { percent: 50, message: 'half' });
    await worker.tracker.reportProgress(runA, { percent: 30, message: 'third', step: 'load' });
    const progressed = await a.until(
      () => a.items.find((i) => i.task_id === runA && (i.metadata as Record<string, unknown>)?.progress_percent === 30),
      1000,
      'progress of A',
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(progressed).toMatchObject({
      task_name: 'report',
      module: 'm',
      status: 'PENDING',
      created_by_id: 1,
      created_by_username: 'alice',
      is_running: false,
    });
    expect(Object.keys(progressed).sort()).toEqual(
      [
        'created_at',
        'created_by_id',
        'created_by_username',
        'duration',
        'finished_at',
        'id',
        'is_completed',
        'is_running',
        'metadata',
        'module',
        'started_at',
        'status',
        'task_id',
        'task_name',
      ].sort(),
    );
    await b.until(
      () => b.items.find((i) => i.task_id === runB && (i.metadata as Record<string, unknown>)?.progress_percent === 50),
      1000,
      'progress of B',
    );
    await admin.until(
      () => admin.items.some((i) => i.task_id === runA) && admin.items.some((i) => i.task_id === runB),
      1000,
      'both runs for the admin',
    );
    await sleep(150);
    expect(a.items.every((i) => i.created_by_id === 1)).toBe(true);
    expect(b.items.every((i) => i.created_by_id === 2)).toBe(true);
    expect(a.items.some((i) => i.task_id === runB)).toBe(false);
    // ids increase
    const ids = a.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
    await Promise.all([a.close(), b.close(), admin.close()]);
  });

  it('announces runs deleted by cleanup as event: deleted, only to streams whose scope admits them', async () => {
    const a = await api.open('/executions/stream/', 'a');
    const b = await api.open('/executions/stream/', 'b');
    const admin = await api.open('/executions/stream/?my_tasks=false', 'admin');
    // One cleanup batch holding runs of both users and a system run, deleted by another process (cross-process feed).
    const old = { a1: uid('old-a'), a2: uid('old-a'), b1: uid('old-b'), system: uid('old-system') };
    const creators = { a1: { id: 1 }, a2: { id: 1 }, b1: { id: 2 }, system: null };
    for (const [key, taskId] of Object.entries(old)) {
      await worker.registerTaskExecution({
        taskId,
        taskName: 'report',
        module: 'm',
        createdBy: creators[key as keyof typeof old],
      });
      await worker.tracker.updateTaskStatus(taskId, 'SUCCESS');
    }
    await tasks.db
      .updateTable('agentcore_task_execution')
      .set({ created_at: new Date(Date.now() - 40 * 86_400_000) })
      .where('task_id', 'in', Object.values(old))
      .execute();
    const result = await worker.maintenance.cleanupOldExecutions({ retentionDays: 30 });
    expect(result.deleted_count).toBeGreaterThanOrEqual(4);
    const deletedIds = (reader: SseReader) =>
      reader.events.filter((e) => e.event === 'deleted').map((e) => JSON.parse(e.data).task_id as string);
    await admin.until(
      () => Object.values(old).every((id) => deletedIds(admin).includes(id)),
      2000,
      'every deletion for the admin',
    );
    const event = await a.until(
      () => a.events.find((e) => e.event === 'deleted' && JSON.parse(e.data).task_id === old.a2),
      1000,
      'deleted event',
    );
    const row = await tasks.tracker.getTask(old.a2, { sync: false });
    expect(row).toBeNull();
    expect(Object.keys(JSON.parse(event.data)).sort()).toEqual(['id', 'task_id']);
    await b.until(() => deletedIds(b).includes(old.b1), 1000, 'b’s own deletion');
    await sleep(200);
    expect(deletedIds(a).sort()).toEqual([old.a1, old.a2].sort());
    expect(deletedIds(b)).toEqual([old.b1]);
    for (const reader of [a, b, admin]) {
      const ids = reader.events.map((e) => Number(e.id));
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true);
    }
    await Promise.all([a.close(), b.close(), admin.close()]);
  });

  it('never shows runs without a creator, nor widens scope for a non-admin', async () => {
    expect((await api.get('/executions/stream/?my_tasks=false', 'a')).status).toBe(403);
    expect((await api.get('/executions/stream/?created_by=2', 'a')).status).toBe(403);
    expect((await api.get('/executions/stream/?status=NOPE', 'a')).status).toBe(400);
    const a = await api.open('/executions/stream/', 'a');
    const system = uid('system');
    await worker.registerTaskExecution({ taskId: system, taskName: 'nightly', module: 'm', createdBy: null });
    const mine = uid('mine');
    await worker.registerTaskExecution({ taskId: mine, taskName: 'x', module: 'm', createdBy: { id: 1 } });
    await a.until(() => a.items.some((i) => i.task_id === mine), 1000, 'own run');
    expect(a.items.some((i) => i.task_id === system)).toBe(false);
    await a.close();
  });

  it('applies the status filter to the row as it is when sent', async () => {
    const s = await api.open('/executions/stream/?status=SUCCESS&module=billing', 'a');
    const ok = uid('ok');
    const other = uid('other-module');
    await worker.registerTaskExecution({ taskId: ok, taskName: 'x', module: 'billing', createdBy: { id: 1 } });
    await worker.registerTaskExecution({ taskId: other, taskName: 'x', module: 'mail', createdBy: { id: 1 } });
    await worker.tracker.updateTaskStatus(other, 'SUCCESS');
    await worker.tracker.updateTaskStatus(ok, 'STARTED');
    await worker.tracker.updateTaskStatus(ok, 'SUCCESS', { result: 1 });
    await s.until(() => s.items.some((i) => i.task_id === ok), 1000, 'the SUCCESS event');
    await sleep(100);
    expect(s.items.map((i) => [i.task_id, i.status])).toEqual([[ok, 'SUCCESS']]);
    await s.close();
  });

  it('detail stream: only that run, the detail authorization (404 like detail)', async () => {
    const mine = uid('detail');
    const theirs = uid('theirs');
    const row = await worker.registerTaskExecution({ taskId: mine, taskName: 'x', module: 'm', createdBy: { id: 1 } });
    const their = await worker.registerTaskExecution({
      taskId: theirs,
      taskName: 'x',
      module: 'm',
      createdBy: { id: 2 },
    });
    expect((await api.get(`/executions/${their!.id}/stream/`, 'a')).status).toBe(404);
    expect((await api.get('/executions/999999999/stream/', 'a')).status).toBe(404);
    expect((await api.get('/executions/abc/stream/', 'a')).status).toBe(400);
    const s = await api.open(`/executions/${row!.id}/stream/`, 'a');
    await worker.tracker.reportProgress(theirs, { percent: 10 });
    await worker.tracker.reportProgress(mine, { percent: 60 });
    await s.until(
      () => s.items.some((i) => (i.metadata as Record<string, unknown>)?.progress_percent === 60),
      1000,
      'progress',
    );
    expect(s.items.every((i) => i.id === row!.id)).toBe(true);
    await s.close();
  });

  it('sends a heartbeat comment on the configured interval', async () => {
    const s = await api.open('/executions/stream/', 'a');
    await s.until(() => s.comments.includes('heartbeat'), 1000, 'a heartbeat');
    await s.close();
  });

  it('resumes after Last-Event-ID with the changes missed meanwhile', async () => {
    const taskId = uid('resume');
    const first = await api.open('/executions/stream/', 'a');
    await worker.registerTaskExecution({ taskId, taskName: 'x', module: 'm', createdBy: { id: 1 } });
    const event = await first.until(() => first.events.find((e) => e.data.includes(taskId)), 1000, 'first event');
    await first.close();
    await worker.tracker.reportProgress(taskId, { percent: 70 });
    await worker.tracker.updateTaskStatus(taskId, 'SUCCESS');
    await sleep(300); // the changes reach this process while no stream is open
    const again = await api.open('/executions/stream/', 'a', { 'last-event-id': event.id! });
    const resumed = await again.until(() => again.items.find((i) => i.task_id === taskId), 1000, 'replayed change');
    expect(resumed.status).toBe('SUCCESS');
    expect(Number(again.events[0].id)).toBeGreaterThan(Number(event.id));
    await again.close();
    // an unknown or stale id replays nothing
    const fresh = await api.open('/executions/stream/', 'a', { 'last-event-id': '1' });
    await sleep(200);
    expect(fresh.items).toEqual([]);
    await fresh.close();
  });

  it('answers 429 beyond the open-stream bound, and accepts again when one closes', async () => {
    const open = await Promise.all(Array.from({ length: 5 }, () => api.open('/executions/stream/', 'a')));
    const refused = await api.get('/executions/stream/', 'a');
    expect(refused.status).toBe(429);
    await open[0].close();
    await sleep(50);
    const next = await api.open('/executions/stream/', 'a');
    await Promise.all([...open.slice(1), next].map((s) => s.close()));
  });

  it('ends open streams at tasks.close()', async () => {
    const own = await createAgentcoreTask({ database: database.url, logger: silentLogger, migrate: false });
    const ownApi = client(createHandler(own, { getUser }));
    const s = await ownApi.open('/executions/stream/', 'a');
    await own.close();
    await s.until(() => s.ended, 1000, 'the end of the stream');
  });
});

describe.each(DIALECTS)('stream filters equal the list filters on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let api: ReturnType<typeof client>;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    api = client(createHandler(tasks, { getUser }));
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('delivers exactly the runs the list returns for the same query', async () => {
    const queries = [
      'module=billing&my_tasks=false',
      'task_name=billing.Send_Invoice&my_tasks=false',
      'search=INVOICE&my_tasks=false',
      'metadata.tenant=acme&my_tasks=false',
      'metadata.n=5&my_tasks=false',
      `start_date=${new Date().toISOString().slice(0, 10)}&my_tasks=false`,
      'end_date=2000-01-01&my_tasks=false',
      'created_by=1',
      'my_tasks=false',
      'search=invoice', // no scope parameter: the caller's own runs only
    ];
    const EXPECTED_COUNTS = [2, 1, 2, 2, 1, 4, 0, 1, 4, 1];
    const streams = await Promise.all(queries.map((q) => api.open(`/executions/stream/?${q}`, 'admin')));
    const runs = [
      { module: 'billing', taskName: 'billing.Send_Invoice', metadata: { tenant: 'acme', n: 5 }, createdBy: { id: 1 } },
      { module: 'mail', taskName: 'mail.digest', metadata: { tenant: 'globex', n: 6 }, createdBy: { id: 2 } },
      { module: 'billing', taskName: 'billing.refund', metadata: { tenant: 'acme' }, createdBy: null },
      { module: 'reports', taskName: 'invoice_report', metadata: {}, createdBy: { id: 99 } },
    ];
    const ids: string[] = [];
    for (const run of runs) {
      const taskId = uid(`${dialect}-f`);
      ids.push(taskId);
      await tasks.registerTaskExecution({ taskId, ...run });
    }
    const last = ids[ids.length - 1];
    // The all-runs stream gets every change: once it has the last one, every stream has had its chance.
    const all = streams[queries.indexOf('my_tasks=false')];
    await all.until(() => all.items.some((i) => i.task_id === last), 2000, 'the last run');
    await sleep(200);
    for (const [i, q] of queries.entries()) {
      const list = (await (await api.get(`/executions/?${q}&page_size=100`, 'admin')).json()) as {
        results: Array<{ task_id: string }>;
      };
      const expected = list.results
        .map((r) => r.task_id)
        .filter((t) => ids.includes(t))
        .sort();
      const got = [...new Set(streams[i].items.map((it) => it.task_id as string))].sort();
      expect({ q, got }).toEqual({ q, got: expected });
      expect({ q, n: got.length }).toEqual({ q, n: EXPECTED_COUNTS[i] }); // the list itself agrees with the fixture
    }
    await Promise.all(streams.map((s) => s.close()));
  });
});

describe.each(MOUNTS)('stream through the %s mount', (name) => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let mounted: Mounted;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    mounted = await mount(name, tasks, getUser);
  });
  afterAll(async () => {
    await mounted?.close();
    await tasks?.close();
  });
  const openStreams = async () => {
    const text = await (await mounted.request('/metrics', { headers: { authorization: 'Bearer admin' } })).text();
    return Number(/^agentcore_task_open_streams (\d+)$/m.exec(text)?.[1]);
  };

  it('delivers events as they happen, and frees the slot when the client goes away', async () => {
    const controller = new AbortController();
    const response = await mounted.request('/executions/stream/', {
      headers: { authorization: 'Bearer a' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const s = new SseReader(response);
    const taskId = uid(`${name}-mount`);
    await tasks.registerTaskExecution({ taskId, taskName: 'x', module: 'm', createdBy: { id: 1 } });
    await s.until(() => s.items.some((i) => i.task_id === taskId), 1000, 'the event');
    expect(await openStreams()).toBe(1);
    controller.abort();
    await s.close();
    const deadline = Date.now() + 2000;
    while ((await openStreams()) !== 0 && Date.now() < deadline) await sleep(25);
    expect(await openStreams()).toBe(0);
  });
});
