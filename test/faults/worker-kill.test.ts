/**
 * A worker process is killed with SIGKILL in the middle of its jobs (nothing in it gets to record anything). The
 * runs must still end `FAILURE`, by either path SPEC section 13 names: BullMQ's stalled-job handling (another worker
 * fails the orphaned jobs; the timeout job's sync records it), or the timeout job itself (no sign of life past the
 * timeout, and no worker holds the job's lock). None may stay `STARTED`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, redisOptionsFromUrl, tracked, useBullmqSync } from '../../src/queue/bullmq/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

const WORKER = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));
const JOBS_PER_QUEUE = 3;
const connection = redisOptionsFromUrl(REDIS_URL);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('a worker process SIGKILLed mid-job', () => {
  let db: TestDatabase;
  let tasks: AgentcoreTask;
  let child: ChildProcess | undefined;
  const queues: Queue[] = [];
  const workers: Worker[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
    useBullmqSync(tasks, { connection: REDIS_URL });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    for (const w of workers) await w.close(true).catch(() => {});
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    await tasks?.close();
    await db?.drop();
  });

  it('ends every run FAILURE (stalled or timed out), none stays STARTED', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stalledQueue = new Queue(`act-faults-stalled-${suffix}`, { connection });
    const timeoutQueue = new Queue(`act-faults-timeout-${suffix}`, { connection });
    queues.push(stalledQueue, timeoutQueue);
    for (const q of queues)
      for (let i = 0; i < JOBS_PER_QUEUE; i++) await dispatch(tasks, q, 'long', { i }, { module: 'faults' });

    child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, DATABASE_URL: db.url, REDIS_URL, QUEUES: queues.map((q) => q.name).join(',') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child!.once('exit', (_code, signal) => resolve(signal)),
    );
    const rows = () => tasks.db.selectFrom('agentcore_task_execution').selectAll().orderBy('id').execute();
    await until('every job to run and report progress', async () => {
      const all = await rows();
      return (
        all.length === 2 * JOBS_PER_QUEUE &&
        all.every((r) => r.status === 'STARTED' && (r.metadata as Record<string, unknown>).progress_percent === 10)
      );
    });

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // Path 1: another worker's stalled-job check fails the orphaned jobs; the timeout job's sync records it.
    const recovery = new Worker(
      stalledQueue.name,
      tracked(tasks, async () => 'recovered', { module: 'faults' }),
      {
        connection,
        stalledInterval: 1000,
        maxStalledCount: 0,
      },
    );
    workers.push(recovery);
    await until('BullMQ to fail the stalled jobs', async () => {
      return (await stalledQueue.getJobCounts('failed')).failed === JOBS_PER_QUEUE;
    });
    const first = await tasks.maintenance.markTimedOutExecutions();
    expect(first.synced_updated_count).toBe(JOBS_PER_QUEUE);
    expect(first.updated_count).toBe(0); // the other runs were alive until a moment ago: not timed out yet

    // Path 2: no worker takes over; past the timeout with no sign of life and no lock held, the timeout job marks
    // them. Moving their clock back stands for the ten minutes passing.
    await sql`update agentcore_task_execution set started_at = started_at - interval '11 minutes',
      updated_at = updated_at - interval '11 minutes' where queue_name = ${timeoutQueue.name}`.execute(tasks.db);
    const second = await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 });
    expect(second.updated_count).toBe(JOBS_PER_QUEUE);

    const final = await rows();
    expect(final.filter((r) => r.status !== 'FAILURE')).toEqual([]);
    for (const row of final) {
      expect(row.finished_at).not.toBeNull();
      if (row.queue_name === stalledQueue.name) expect(row.error).toMatch(/stalled/i);
      else expect(row.error).toMatch(/^Task timeout \(exceeded 10 minutes/);
    }
  });
});
