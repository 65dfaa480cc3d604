/**
 * The recorder killed mid-run (SIGKILL of `agentcore-task record`, so nothing is flushed and the last position may
 * be behind) and started again, while a plain BullMQ worker keeps going: every run ends recorded once, with its true
 * final status. Half of the jobs are removed on completion, so only the event stream (resumed from the stored
 * position) can tell what happened to them.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { type CliRun, cli } from '../cli/cli.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { connection, onPostgres, pgQueues, Queue, sleep, uniqueQueueName, Worker, waitFor } from './helpers.js';

const JOBS = 2_000;

describe('recorder killed and restarted mid-run (postgres)', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  const children: ChildProcess[] = [];
  let queue: Queue | undefined;
  let worker: Worker | undefined;

  beforeAll(async () => {
    // Creates the schema the `record` command expects.
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await worker?.close(true).catch(() => {});
    await queue?.obliterate({ force: true }).catch(() => {});
    await queue?.close();
    await tasks?.close();
  });

  function startRecorder(queueName: string): CliRun {
    const where = onPostgres
      ? ['--bullmq-postgres', pgQueues.connectionString, '--bullmq-schema', String(pgQueues.schema)]
      : ['--redis', REDIS_URL];
    const run = cli(['record', '--queues', queueName, ...where, '--database', database.url, '--module', 'ops']);
    children.push(run.child);
    return run;
  }

  async function statuses(queueName: string) {
    const rows = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select(['task_id', 'status', 'task_name'])
      .where('queue_name', '=', queueName)
      .execute();
    return rows;
  }

  it(`0 runs missing or doubled out of ${JOBS}`, { timeout: 120_000 }, async () => {
    const name = uniqueQueueName('rec-kill');
    // A long event stream, so the events of the recorder's downtime are still there when it comes back.
    queue = new Queue(name, { connection, streams: { events: { maxLen: 100_000 } } });
    await queue.waitUntilReady();

    const first = startRecorder(name);
    await waitFor('recorder started', () => first.out.stdout.includes('following its events'), 30_000);

    // What the worker saw: the true final status of each job.
    const truth = new Map<string, 'SUCCESS' | 'FAILURE'>();
    worker = new Worker(
      name,
      async (job) => {
        await sleep(job.data.i % 3);
        if (job.data.i % 10 === 0 && job.attemptsMade === 0) throw new Error(`transient ${job.data.i}`);
        if (job.data.i % 25 === 0) throw new Error(`broken ${job.data.i}`);
        return { i: job.data.i };
      },
      { connection, concurrency: 5, autorun: false },
    );
    worker.on('completed', (job) => truth.set(String(job.id), 'SUCCESS'));
    worker.on('failed', (job) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) truth.set(String(job.id), 'FAILURE');
    });
    for (let start = 0; start < JOBS; start += 500) {
      await queue.addBulk(
        Array.from({ length: 500 }, (_, k) => {
          const i = start + k;
          return {
            name: `job-${i % 4}`,
            data: { i },
            // On bullmq 6's PostgreSQL backend a quiet job is read again to make up for an event the stream skipped:
            // it must still be there, so only Redis removes jobs on completion.
            opts: { attempts: 2, ...(i % 2 === 0 && !onPostgres ? { removeOnComplete: true } : {}) },
          };
        }),
      );
    }
    void worker.run();

    await waitFor(
      'a part recorded',
      async () => (await statuses(name)).filter((r) => r.status === 'SUCCESS').length >= 300,
      60_000,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull(); // killed, not exited
    const recordedAtKill = (await statuses(name)).filter(
      (r) => r.status === 'SUCCESS' || r.status === 'FAILURE',
    ).length;
    expect(recordedAtKill).toBeLessThan(JOBS);

    const second = startRecorder(name);
    await waitFor('worker done', () => truth.size === JOBS, 60_000);
    await waitFor(
      'every run recorded',
      async () => {
        const rows = await statuses(name);
        return rows.length >= JOBS && rows.every((r) => r.status === truth.get(r.task_id.replace(`${name}:`, '')));
      },
      30_000,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const rows = await statuses(name);
    const jobIds = rows.map((r) => r.task_id.replace(`${name}:`, ''));
    expect(rows).toHaveLength(JOBS); // none doubled
    expect(new Set(jobIds).size).toBe(JOBS);
    const wrong = rows.filter((r) => r.status !== truth.get(r.task_id.replace(`${name}:`, '')));
    expect(wrong).toEqual([]); // none missing or wrong
    expect([...truth.values()].filter((s) => s === 'FAILURE')).toHaveLength(JOBS / 25);
    expect(rows.every((r) => /^job-[0-3]$/.test(r.task_name))).toBe(true);
  });
});
