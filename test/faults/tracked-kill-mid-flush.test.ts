/**
 * Issue 18, item 1: `tracked` hands STARTED, SUCCESS and failures to the write buffer and the job returns at once, so
 * a worker process killed under load leaves jobs BullMQ already completed or failed whose writes never landed. A
 * second worker process (a fresh instance: its start-up sync runs) must bring every one of those runs to its true end,
 * and finish the rest; no run may stay STARTED or PENDING, and no job may be left without a run.
 *
 * 2,000 short jobs (one in ten fails for good with `attempts: 1`) are dispatched to one queue; a child process runs a
 * `tracked` worker at concurrency 50 and is SIGKILLed once 30 % of the jobs are done in BullMQ. The test counts how
 * many finished jobs had no finished row at that moment (the writes the kill cut off) and fails if there were none.
 *
 * `TRACKED_KILL_NO_STARTUP_SYNC=1` runs both workers without their start-up sync: the test must then fail (the cut-off
 * runs stay PENDING or STARTED).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, redisOptionsFromUrl } from '../../src/queue/bullmq/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

const WORKER = fileURLToPath(new URL('./fixtures/tracked-worker.ts', import.meta.url));
const JOBS = 2000;
const KILL_AT = 0.3;
const connection = redisOptionsFromUrl(REDIS_URL);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

describe('a tracked worker SIGKILLed mid-flush under load', () => {
  let db: TestDatabase;
  let tasks: AgentcoreTask;
  let queue: Queue;
  const children: ChildProcess[] = [];

  /** Starts a worker process and resolves once it takes jobs. */
  async function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL,
        QUEUE: queue.name,
        NO_STARTUP_SYNC: process.env.TRACKED_KILL_NO_STARTUP_SYNC === '1' ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`worker exited early (${code ?? signal})`)));
    });
    return child;
  }

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    // No queue source here: the test's own instance must not sync anything, only the workers' may.
    tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
    queue = new Queue(`act-faults-flush-${randomBytes(4).toString('hex')}`, { connection });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await queue?.obliterate({ force: true }).catch(() => {});
    await queue?.close();
    await tasks?.close();
    await db?.drop();
  });

  it('ends every run with the status, result or reason BullMQ ended its job with', async () => {
    // Dispatched (a PENDING row and a UUID job id each): the worker starts these without waiting for any write.
    for (let i = 0; i < JOBS; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => i + k).map((n) =>
          dispatch(tasks, queue, 'short', n % 10 === 3 ? { i: n, fail: true } : { i: n }, {
            module: 'faults',
            jobOptions: { attempts: 1 },
          }),
        ),
      );
    }

    const first = await startWorker();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_c, signal) => resolve(signal)));
    const done = async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0);
    };
    await until('30 % of the jobs to be done in BullMQ', async () => (await done()) >= JOBS * KILL_AT, 60_000, 5);
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // What the kill cut off: jobs done in BullMQ whose rows are not finished.
    const doneAtKill = await done();
    const finishedRows = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', 'in', ['SUCCESS', 'FAILURE'])
      .executeTakeFirstOrThrow();
    const cutOff = doneAtKill - Number(finishedRows.n);
    console.info(`killed with ${doneAtKill} jobs done in BullMQ, ${finishedRows.n} rows finished: ${cutOff} cut off`);
    // A kill that cut no write off would prove nothing (under load, 30–90 of ~600 are cut off here).
    expect(cutOff).toBeGreaterThan(0);

    await startWorker();
    await until('BullMQ to finish every job', async () => (await done()) === JOBS, 90_000, 200);

    // The jobs' final states, read once everything is done.
    const jobs = new Map<string, Job>();
    const states = new Map<string, 'completed' | 'failed'>();
    for (const state of ['completed', 'failed'] as const)
      for (const job of await queue.getJobs([state], 0, -1)) {
        jobs.set(String(job.id), job);
        states.set(String(job.id), state);
      }
    expect(jobs.size).toBe(JOBS);

    const rows = () =>
      tasks.db
        .selectFrom('agentcore_task_execution')
        .select(['task_id', 'status', 'result', 'error', 'queue_name'])
        .execute();
    // The second worker's own writes and its start-up sync land after BullMQ is done: give them a bounded while.
    await until(
      'every row to settle',
      async () => {
        const all = await rows();
        return all.length === JOBS && all.every((r) => r.status === 'SUCCESS' || r.status === 'FAILURE');
      },
      20_000,
      250,
    ).catch(() => {}); // the assertions below say what is wrong

    const final = await rows();
    const byTask = new Map(final.map((r) => [r.task_id, r]));
    const wrong: string[] = [];
    for (const [id, job] of jobs) {
      const row = byTask.get(id);
      if (!row) {
        wrong.push(`${id}: no row`);
        continue;
      }
      if (states.get(id) === 'completed') {
        const result = typeof row.result === 'string' ? JSON.parse(row.result) : row.result;
        if (row.status !== 'SUCCESS' || JSON.stringify(result) !== JSON.stringify(job.returnvalue))
          wrong.push(
            `${id}: ${row.status} ${JSON.stringify(result)}, job completed with ${JSON.stringify(job.returnvalue)}`,
          );
      } else if (row.status !== 'FAILURE' || row.error !== job.failedReason) {
        wrong.push(`${id}: ${row.status} ${row.error}, job failed with ${job.failedReason}`);
      }
    }
    const statuses: Record<string, number> = {};
    for (const r of final) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    expect({ wrong: wrong.slice(0, 10), count: wrong.length, statuses }).toEqual({
      wrong: [],
      count: 0,
      statuses: { SUCCESS: JOBS - JOBS / 10, FAILURE: JOBS / 10 },
    });
    expect(final.filter((r) => !jobs.has(r.task_id))).toEqual([]);
    expect(final.every((r) => r.queue_name === queue.name)).toBe(true);
  });
});
