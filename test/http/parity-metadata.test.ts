/**
 * `include_metadata` and `metadata_fields` on every route that answers one run (detail, by-task-id, status, sync), as
 * the Django module honours them there: same meaning as on the list, same validation, on every database and mount.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { executionDetailSchema } from '../../src/http/schemas.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import type { QueueJobState, QueueSource } from '../../src/queue/source.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { MOUNTS, type Mounted, mount } from './mounts.js';

const USERS = {
  alice: { id: 1, username: 'alice' },
  bob: { id: 2, username: 'bob' },
} as const;
type UserKey = keyof typeof USERS;

function getUser(request: Request) {
  const token = /^Bearer (\w+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  return token && token in USERS ? USERS[token as UserKey] : null;
}

const METADATA = { tenant: 'acme', batch: 7, nested: { deep: [1, 2] }, 'with space': true, empty: null };

/** The metadata views to compare, as query strings (without `?`). */
const VIEWS = [
  '',
  'include_metadata=true',
  'include_metadata=TRUE',
  'include_metadata=false',
  'include_metadata=False',
  'metadata_fields=tenant',
  'metadata_fields=tenant,%20batch,missing',
  'metadata_fields=nested,empty',
  'metadata_fields=with%20space',
  'metadata_fields=,',
  'metadata_fields=',
  'include_metadata=false&metadata_fields=tenant',
  'include_metadata=true&metadata_fields=batch',
];

/** What `metadata` must be for a view: the list's semantics, written out independently of the code under test. */
function expectedMetadata(view: string, metadata: Record<string, unknown>): Record<string, unknown> | null {
  const params = new URLSearchParams(view);
  if (params.get('include_metadata')?.toLowerCase() === 'false') return null;
  const fields = params.get('metadata_fields');
  if (!fields) return metadata; // absent or empty: every key
  const picked: Record<string, unknown> = {};
  for (const key of fields.split(',').map((f) => f.trim()))
    if (key !== '' && Object.hasOwn(metadata, key)) picked[key] = metadata[key];
  return picked;
}

class ScriptedQueue implements QueueSource {
  calls: string[] = [];
  constructor(private readonly answer: () => QueueJobState | null) {}
  async getState(execution: { taskId: string }) {
    this.calls.push(execution.taskId);
    return this.answer();
  }
}

describe.each(DIALECTS)('metadata view on one-run routes on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let seq = 0;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
  }, 60_000);
  afterAll(async () => {
    await tasks?.close();
  });

  const newRun = async (owner: UserKey, metadata: Record<string, unknown> = METADATA) => {
    const taskId = `parity-meta-${dialect}-${++seq}-run`;
    const run = await tasks.tracker.registerTaskExecution({
      taskId,
      taskName: 'parity.job',
      module: 'parity',
      createdBy: USERS[owner],
      metadata,
    });
    return { id: run!.id, taskId };
  };

  /** Every row as stored, to prove a refused request wrote nothing. */
  const snapshot = async () =>
    JSON.stringify(
      await tasks.db
        .selectFrom('agentcore_task_execution')
        .select(['task_id', 'status', 'updated_at', 'metadata', 'result'])
        .orderBy('id')
        .execute(),
    );

  describe.each(MOUNTS)('through %s', (mountName) => {
    let api: Mounted;
    beforeAll(async () => {
      api = await mount(mountName, tasks, getUser);
    });
    afterAll(async () => {
      await api?.close();
    });
    afterEach(() => {
      tasks.tracker.queueSource = undefined;
    });

    const call = (user: UserKey, path: string, method = 'GET') =>
      api.request(path, { method, headers: { authorization: `Bearer ${user}` } });
    const callJson = async (user: UserKey, path: string, method = 'GET', status = 200) => {
      const res = await call(user, path, method);
      const body = await res.json();
      expect(res.status, `${method} ${path} → ${JSON.stringify(body)}`).toBe(status);
      return body;
    };

    /** The four one-run routes for `run`, each with `view` appended to its query. */
    const routes = (run: { id: number; taskId: string }, view: string): Array<[string, string]> => {
      const and = view === '' ? '' : `&${view}`;
      const q = view === '' ? '' : `?${view}`;
      const taskId = encodeURIComponent(run.taskId);
      return [
        ['GET', `/executions/${run.id}/${q}`],
        ['GET', `/executions/by-task-id/${taskId}/?sync=false${and}`],
        ['GET', `/executions/by-task-id/${taskId}/${q}`],
        ['GET', `/executions/status/?task_id=${taskId}${and}`],
        ['GET', `/executions/status/?sync=false&task_id=${taskId}${and}`],
        ['POST', `/executions/${run.id}/sync/${q}`],
        ['POST', `/executions/${run.id}/sync${q}`],
      ];
    };

    it('detail, by-task-id, status and sync trim metadata exactly as the list does', async () => {
      const run = await newRun('alice');
      const full = executionDetailSchema.strict().parse(await callJson('alice', `/executions/${run.id}/`));
      expect(full.metadata).toEqual(METADATA);
      for (const view of VIEWS) {
        const list = await callJson('alice', `/executions/?module=parity&search=${run.taskId}&${view}`);
        expect(list.results).toHaveLength(1);
        const expected = expectedMetadata(view, METADATA);
        // The list and the model agree, so "same semantics as the list" is what the routes below are held to.
        expect(list.results[0].metadata, `list ${view}`).toEqual(expected);
        for (const [method, path] of routes(run, view)) {
          const body = executionDetailSchema.strict().parse(await callJson('alice', path, method));
          expect(body.metadata, `${method} ${path}`).toEqual(expected);
          // Only metadata changes: every other field is the full detail's.
          expect({ ...body, metadata: full.metadata }, `${method} ${path}`).toEqual(full);
        }
      }
    });

    it('a refused parameter is a 400 naming it on every route, and nothing is synced or written', async () => {
      const run = await newRun('alice');
      const queue = new ScriptedQueue(() => ({ status: 'SUCCESS', result: { must: 'not be written' } }));
      tasks.tracker.queueSource = queue;
      const before = await snapshot();
      for (const bad of ['no', '1', 'yes', 'falsey', 'null']) {
        for (const [method, path] of routes(run, `include_metadata=${bad}`)) {
          const body = await callJson('alice', path, method, 400);
          expect(body, `${method} ${path}`).toEqual({ error: expect.any(String), field: 'include_metadata' });
          expect(body.error).toMatch(/include_metadata/);
        }
      }
      // Refused before the run is looked up: the same 400 for a run of someone else and for no run at all.
      for (const [method, path] of routes({ id: run.id, taskId: run.taskId }, 'include_metadata=no'))
        expect(await callJson('bob', path, method, 400)).toMatchObject({ field: 'include_metadata' });
      for (const [method, path] of routes({ id: 999_999_999, taskId: 'no-such-run' }, 'include_metadata=no'))
        expect(await callJson('alice', path, method, 400)).toMatchObject({ field: 'include_metadata' });
      // A bad id is still named first on the id routes.
      expect(await callJson('alice', '/executions/abc/?include_metadata=no', 'GET', 400)).toMatchObject({
        field: 'id',
      });
      expect(queue.calls).toEqual([]);
      expect(await snapshot()).toBe(before);
    });

    it('sync trims the metadata the queue just wrote, not the row before the sync', async () => {
      const run = await newRun('alice', { tenant: 'acme' });
      tasks.tracker.queueSource = new ScriptedQueue(() => ({
        status: 'STARTED',
        metadata: { progress_percent: 40, progress_message: 'Parsing…' },
      }));
      const synced = await callJson(
        'alice',
        `/executions/${run.id}/sync/?metadata_fields=progress_percent,tenant`,
        'POST',
      );
      expect(synced).toMatchObject({ status: 'STARTED', metadata: { progress_percent: 40, tenant: 'acme' } });
      expect(Object.keys(synced.metadata).sort()).toEqual(['progress_percent', 'tenant']);
      const status = await callJson('alice', `/executions/status/?task_id=${run.taskId}&include_metadata=false`);
      expect(status).toMatchObject({ status: 'STARTED', metadata: null });
      // The row itself keeps every key: the view trims the answer, never the record.
      expect((await tasks.tracker.getTask(run.taskId))!.metadata).toEqual({
        tenant: 'acme',
        progress_percent: 40,
        progress_message: 'Parsing…',
      });
    });

    it("another user's run stays 404 whatever the metadata view", async () => {
      const bobs = await newRun('bob');
      for (const view of ['include_metadata=false', 'metadata_fields=tenant'])
        for (const [method, path] of routes(bobs, view))
          expect(await callJson('alice', path, method, 404), `${method} ${path}`).toEqual({ detail: 'Not found.' });
    });
  });
});
