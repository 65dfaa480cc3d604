/**
 * A private Redis server holds the task locks (and carries live events) and is killed while lock-guarded tasks are
 * attempted: no task runs twice at once, every attempt while it is down is skipped with `lock_acquisition_failed`
 * within bounded time, the API keeps serving list and detail from the database; once Redis is back, the same
 * process takes locks again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type HttpUser, silentLogger } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { PrivateRedis } from './helpers/services.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const KEYS = ['a', 'b', 'c', 'd'];
/** Operation timeout of the locks (3 s) plus scheduling slack. */
const FAIL_CLOSED_BOUND_MS = 5_000;

describe('Redis stopped while lock-guarded tasks are attempted', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let tasks: AgentcoreTask;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    db = await createTestDatabase('postgres');
    redis = await PrivateRedis.start();
    tasks = await createAgentcoreTask({
      database: db.url,
      redis: redis.url,
      lock: 'redis',
      logger: silentLogger,
      env: {},
    });
  });
  afterAll(async () => {
    await tasks?.close();
    await redis?.stop();
    await db?.drop();
    process.off('unhandledRejection', onUnhandled);
  });

  it('never runs a task twice at once, fails closed while down, serves the API, and recovers in-process', async () => {
    const running = new Map<string, number>();
    const runs = new Map<string, number>();
    let overlaps = 0;
    const guarded = tasks.preventDuplicateTask(
      { lockName: 'faults_guarded', lockParam: 'key', timeout: 60 },
      async ({ key }: { key: string }) => {
        const now = (running.get(key) ?? 0) + 1;
        running.set(key, now);
        if (now > 1) overlaps++;
        runs.set(key, (runs.get(key) ?? 0) + 1);
        await sleep(100);
        running.set(key, (running.get(key) ?? 1) - 1);
        return { success: true as const, key };
      },
    );
    // Eight concurrent attempts per key: exactly one runs, the rest are skipped as already running.
    const burst = () => Promise.all(KEYS.flatMap((key) => Array.from({ length: 8 }, () => guarded({ key }))));
    const reasons = (results: Awaited<ReturnType<typeof burst>>) =>
      results.map((r) => ('reason' in r ? r.reason : 'ran')).sort();

    // Runs recorded in the database, for the API to serve while Redis is down.
    const alice: HttpUser = { id: 1, username: 'alice' };
    const registered = [];
    for (let i = 0; i < 5; i++)
      registered.push(
        await tasks.registerTaskExecution({
          taskId: `faults-redis-${i}`,
          taskName: 'guarded',
          module: 'faults',
          createdBy: { id: alice.id, username: 'alice' },
        }),
      );
    const handler = tasks.handler({ getUser: () => alice });

    // 1. Redis up.
    const up = await burst();
    expect(reasons(up).filter((r) => r === 'ran')).toHaveLength(KEYS.length);
    expect(reasons(up).filter((r) => r === 'task_already_running')).toHaveLength(KEYS.length * 7);

    // 2. Redis killed: every attempt fails closed, in bounded time, and runs nothing.
    await redis.stop();
    const runsBefore = [...runs.values()].reduce((a, b) => a + b, 0);
    const started = Date.now();
    const down = await burst();
    expect(Date.now() - started).toBeLessThan(FAIL_CLOSED_BOUND_MS);
    expect(new Set(reasons(down))).toEqual(new Set(['lock_acquisition_failed']));
    expect(down.every((r) => r.success === false && 'status' in r && r.status === 'skipped')).toBe(true);
    expect([...runs.values()].reduce((a, b) => a + b, 0)).toBe(runsBefore);
    expect(await tasks.acquireTaskLock('faults_plain', 30)).toBe(false);

    // The API keeps serving from the database; recording keeps working too.
    const list = await handler(new Request('http://x/executions/'));
    expect(list.status).toBe(200);
    const page = (await list.json()) as { count: number; results: Array<{ task_id: string }> };
    expect(page.count).toBe(5);
    const detail = await handler(new Request(`http://x/executions/${registered[0]!.id}/`));
    expect(detail.status).toBe(200);
    expect(((await detail.json()) as { task_id: string }).task_id).toBe('faults-redis-0');
    const status = await handler(new Request('http://x/executions/status/?task_id=faults-redis-1&sync=false'));
    expect(status.status).toBe(200);
    expect(await tasks.tracker.updateTaskStatus('faults-redis-2', 'SUCCESS', { result: { ok: true } })).toMatchObject({
      status: 'SUCCESS',
    });

    // 3. Redis back on the same port: the same instance takes locks again once its client has reconnected.
    await redis.resume();
    const deadline = Date.now() + 20_000;
    while (!(await tasks.acquireTaskLock('faults_plain', 30))) {
      if (Date.now() > deadline) throw new Error('locks did not recover after Redis came back');
      await sleep(200);
    }
    expect(await tasks.releaseTaskLock('faults_plain')).toBe(true);
    const again = await burst();
    expect(reasons(again).filter((r) => r === 'ran')).toHaveLength(KEYS.length);
    expect(reasons(again).filter((r) => r === 'task_already_running')).toHaveLength(KEYS.length * 7);

    expect(overlaps).toBe(0);
    expect(Object.fromEntries(runs)).toEqual({ a: 2, b: 2, c: 2, d: 2 });
    expect(unhandled).toEqual([]);
  });
});
