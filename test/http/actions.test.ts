/**
 * `POST executions/{id}/retry/` and `…/cancel/` on real BullMQ (Redis, or bullmq 6's PostgreSQL backend with
 * `BULLMQ_BACKEND=postgres`) over each database: admins only (403), visible runs only (404), the job's state must
 * allow it (409, nothing changed), 501 without a queue source, 503 when the queue cannot be reached, the CSRF check of
 * `sync/`; a retry reopens the run as RETRY and the worker ends it, a cancel removes the job and revokes the run; each
 * is recorded in `metadata.actions`. Every answer matches the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ACTIONS_KEPT } from '../../src/http/actions.js';
import { createNativeHandler } from '../../src/http/handler.js';
import type { RouteDoc } from '../../src/http/openapi.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, tracked, useBullmqSync } from '../../src/queue/bullmq/index.js';
import {
  connection,
  defaultSyncOptions,
  type Queue,
  unreachableQueues,
  useQueues,
  Worker,
  waitFor,
} from '../bullmq/helpers.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

const USERS = {
  alice: { id: 1, username: 'alice' },
  root: { id: 99, username: 'root', isAdmin: true },
  // An admin who sees only their own runs (canViewAll below): other runs are 404 to them.
  auditor: { id: 7, username: 'auditor', isAdmin: true },
} as const;
type Who = keyof typeof USERS;
const getUser = (request: Request) => {
  const bearer = /^Bearer (\w+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const session = /(?:^|;\s*)session=(\w+)/.exec(request.headers.get('cookie') ?? '')?.[1];
  return USERS[(bearer ?? session ?? '') as Who] ?? null;
};
const canViewAll = (user: { id: string | number }) => user.id === 99;

type Handler = ReturnType<typeof createNativeHandler<undefined>>;

/** POSTs an action and checks the answer against the document (status declared, body valid, no unknown keys). */
async function post(handler: Handler, id: number, action: 'retry' | 'cancel', who: Who | null, headers = {}) {
  const h = new Headers(headers);
  if (who) h.set('authorization', `Bearer ${who}`);
  const response = await handler(
    new Request(`http://test/executions/${id}/${action}/`, { method: 'POST', headers: h }),
    undefined,
  );
  const body = await response.json();
  const op = handler.app.routes.find((r: RouteDoc) => r.path === `/executions/{id}/${action}/` && r.method === 'post');
  expect(op).toBeDefined();
  const declared = op!.responses[response.status];
  expect(declared, `${response.status} is not declared for ${op!.operationId}`).toBeDefined();
  const parsed = (declared.schema as z.ZodType).safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  expect(Object.keys(body).filter((k) => !(k in (parsed.data as object)))).toEqual([]);
  return { status: response.status, body };
}

describe.each(DIALECTS)('run actions on %s with real BullMQ', (dialect) => {
  const database = useTestDatabase(dialect);
  const queues = useQueues();
  let tasks: AgentcoreTask;
  let handler: Handler;
  /** Job ids whose next attempt fails. */
  const failing = new Set<string>();

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      ...defaultSyncOptions,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    handler = createNativeHandler(tasks, { getUser, canViewAll });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  const startWorker = (queue: Queue) =>
    queues.worker(
      new Worker(
        queue.name,
        tracked(
          tasks,
          async (job) => {
            if (failing.has(String(job.id))) {
              failing.delete(String(job.id));
              throw new Error('boom');
            }
            return { ok: (job.data as { n: number }).n };
          },
          { module: 'm' },
        ),
        { connection },
      ),
    );
  const row = (taskId: string) => tasks.tracker.getTask(taskId);

  it('retry: refused for non-admins (403), invisible runs (404) and non-failed jobs (409) with nothing changed; an admin retry reopens the run as RETRY, is recorded, and the worker ends it', async () => {
    const queue = queues.queue('retry');
    startWorker(queue);
    const jobId = `job-${Date.now()}`;
    failing.add(jobId);
    const { job } = await dispatch(
      tasks,
      queue,
      'report',
      { n: 3 },
      {
        module: 'm',
        createdBy: USERS.alice,
        jobOptions: { jobId },
      },
    );
    await waitFor('FAILURE', async () => (await row(jobId))?.status === 'FAILURE');
    expect(await job.getState()).toBe('failed');
    const before = (await row(jobId))!;

    expect((await post(handler, before.id, 'retry', null)).status).toBe(401);
    expect((await post(handler, before.id, 'retry', 'alice')).status).toBe(403); // the owner, not an admin
    expect((await post(handler, before.id, 'retry', 'auditor')).status).toBe(404); // an admin who cannot see it
    expect((await post(handler, 987_654, 'retry', 'root')).status).toBe(404);
    // Cross-site with the admin's cookie: refused as for sync/.
    const forged = await post(handler, before.id, 'retry', null, {
      cookie: 'session=root',
      origin: 'https://evil.example',
    });
    expect(forged.status).toBe(403);
    expect(await row(jobId)).toEqual(before);
    expect(await job.getState()).toBe('failed');
    // cancel of a failed job: 409 with its state
    const wrong = await post(handler, before.id, 'cancel', 'root');
    expect(wrong).toMatchObject({ status: 409, body: { state: 'failed' } });
    expect(await row(jobId)).toEqual(before);

    const retried = await post(handler, before.id, 'retry', 'root');
    expect(retried.status).toBe(200);
    expect(['RETRY', 'STARTED', 'SUCCESS']).toContain(retried.body.status);
    expect(retried.body.metadata.actions).toEqual([
      { action: 'retry', by: { id: 99, username: 'root' }, at: expect.any(String), from: 'FAILURE' },
    ]);
    expect(Date.parse(retried.body.metadata.actions[0].at)).toBeGreaterThan(Date.now() - 60_000);
    await waitFor('SUCCESS', async () => (await row(jobId))?.status === 'SUCCESS');
    const after = (await row(jobId))!;
    expect(after).toMatchObject({ status: 'SUCCESS', result: { ok: 3 }, error: null });
    expect(after.finishedAt).toBeInstanceOf(Date);
    expect(after.metadata.actions).toHaveLength(1);
    // A second retry: the job is completed now.
    expect(await post(handler, before.id, 'retry', 'root')).toMatchObject({
      status: 409,
      body: { state: 'completed' },
    });
  });

  it('retry without a worker: the run shows RETRY with finished_at cleared until a worker takes the job', async () => {
    const queue = queues.queue('retry-idle');
    const worker = startWorker(queue);
    const jobId = `idle-${Date.now()}`;
    failing.add(jobId);
    await dispatch(tasks, queue, 'report', { n: 1 }, { module: 'm', jobOptions: { jobId } });
    await waitFor('FAILURE', async () => (await row(jobId))?.status === 'FAILURE');
    await worker.close();
    const before = (await row(jobId))!;
    const retried = await post(handler, before.id, 'retry', 'root');
    expect(retried).toMatchObject({ status: 200, body: { status: 'RETRY', finished_at: null, error: 'boom' } });
    expect(await row(jobId)).toMatchObject({ status: 'RETRY', finishedAt: null });
    expect(await (await queue.getJob(jobId))!.getState()).toBe('waiting');
    // A sync agrees (waiting after a failed attempt is RETRY) and does not undo the reopen.
    expect((await tasks.tracker.syncTask(jobId))?.status).toBe('RETRY');
    // Cancel it now: waiting, so it goes; the run is REVOKED by the admin and both actions are kept in order.
    const cancelled = await post(handler, before.id, 'cancel', 'root');
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'REVOKED', error: 'cancelled by root' } });
    expect(cancelled.body.metadata.actions.map((a: { action: string }) => a.action)).toEqual(['retry', 'cancel']);
    expect(ACTIONS_KEPT).toBeGreaterThanOrEqual(2);
  });

  it('cancel: a waiting or delayed job is removed and the run REVOKED; refusals change nothing', async () => {
    const queue = queues.queue('cancel'); // no worker: jobs stay waiting / delayed
    const waiting = await dispatch(tasks, queue, 'send', {}, { module: 'm', createdBy: USERS.alice });
    const delayed = await dispatch(tasks, queue, 'send', {}, { module: 'm', jobOptions: { delay: 60_000 } });
    const w = (await row(String(waiting.job.id)))!;
    const d = (await row(String(delayed.job.id)))!;
    expect(await delayed.job.getState()).toBe('delayed');

    expect((await post(handler, w.id, 'cancel', 'alice')).status).toBe(403);
    expect((await post(handler, w.id, 'cancel', 'auditor')).status).toBe(404);
    expect(await post(handler, w.id, 'retry', 'root')).toMatchObject({ status: 409, body: { state: 'waiting' } });
    expect(await row(w.taskId)).toEqual(w);
    expect(await waiting.job.getState()).toBe('waiting');

    for (const [run, job] of [
      [w, waiting.job],
      [d, delayed.job],
    ] as const) {
      const res = await post(handler, run.id, 'cancel', 'root');
      expect(res).toMatchObject({
        status: 200,
        body: {
          status: 'REVOKED',
          error: 'cancelled by root',
          metadata: { actions: [{ action: 'cancel', by: { id: 99, username: 'root' }, from: 'PENDING' }] },
        },
      });
      expect(await queue.getJob(String(job.id))).toBeUndefined();
      expect((await row(run.taskId))?.finishedAt).toBeInstanceOf(Date);
      // Gone from the queue: a second cancel is a 409 with no state, and the row stays as it is.
      const again = await post(handler, run.id, 'cancel', 'root');
      expect(again).toMatchObject({ status: 409, body: { state: null } });
      expect((await row(run.taskId))?.metadata.actions).toHaveLength(1);
    }
  });

  it('an active job cannot be cancelled (409 active)', async () => {
    const queue = queues.queue('active');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    queues.worker(
      new Worker(
        queue.name,
        tracked(tasks, () => gate, { module: 'm' }),
        { connection },
      ),
    );
    const { job } = await dispatch(tasks, queue, 'long', {}, { module: 'm' });
    await waitFor('active', async () => (await job.getState()) === 'active');
    const run = (await row(String(job.id)))!;
    expect(await post(handler, run.id, 'cancel', 'root')).toMatchObject({ status: 409, body: { state: 'active' } });
    expect(await job.getState()).toBe('active');
    release();
    await waitFor('SUCCESS', async () => (await row(String(job.id)))?.status === 'SUCCESS');
  });

  it('501 without a queue source, 503 when the queue cannot be reached (nothing changed)', async () => {
    const plain = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    try {
      const h = createNativeHandler(plain, { getUser, canViewAll });
      const run = (await plain.registerTaskExecution({
        taskId: `nosrc-${Date.now()}`,
        taskName: 't',
        module: 'm',
        queueName: 'q',
      }))!;
      await plain.tracker.updateTaskStatus(run.taskId, 'FAILURE', { error: 'x' });
      const res = await post(h, run.id, 'retry', 'root');
      expect(res.status).toBe(501);
      expect(res.body.detail).toMatch(/No queue source/);
      expect((await post(h, run.id, 'cancel', 'root')).status).toBe(501);
      const session = await (
        await h(new Request('http://test/dashboard/session', { headers: { authorization: 'Bearer root' } }), undefined)
      ).json();
      expect(session.actions).toBe(false);

      useBullmqSync(plain, { connection: unreachableQueues, timeoutMs: 300 });
      const before = await plain.tracker.getTask(run.taskId);
      expect((await post(h, run.id, 'retry', 'root')).status).toBe(503);
      expect((await post(h, run.id, 'cancel', 'root')).status).toBe(503);
      expect(await plain.tracker.getTask(run.taskId)).toEqual(before);
    } finally {
      await plain.close();
    }
  });

  it('dashboard/session reports actions for admins of an instance with a queue source only', async () => {
    const read = async (who: Who) =>
      (await (
        await handler(
          new Request('http://test/dashboard/session', { headers: { authorization: `Bearer ${who}` } }),
          undefined,
        )
      ).json()) as { actions: boolean };
    expect((await read('root')).actions).toBe(true);
    expect((await read('alice')).actions).toBe(false);
  });
});
