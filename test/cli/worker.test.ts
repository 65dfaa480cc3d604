/**
 * `agentcore-task worker` as a subprocess: it upserts the BullMQ job schedulers, processes maintenance jobs (recording
 * them in the database), and exits 0 on SIGTERM; bad usage exits 2.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bullmq from 'bullmq';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { redisOptionsFromUrl, taskIdOf } from '../../src/queue/bullmq/index.js';
import { uniqueQueueName, waitFor } from '../bullmq/helpers.js';
import { createTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { cli } from './cli.js';

describe('agentcore-task worker', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'act-worker-'));
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help describes the options and exits 0; without Redis it exits 2', async () => {
    const help = cli(['worker', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.out.stdout).toContain('--queue NAME');
    expect(help.out.stdout).toContain('agentcore-task-cleanup-old-executions');
    const noRedis = cli(['worker', '--database', `sqlite:${join(dir, 'x.db')}`]);
    expect(await noRedis.exited).toBe(2);
    expect(noRedis.out.stderr).toContain('--redis');
    const badRedis = cli(['worker', '--redis', 'http://localhost']);
    expect(await badRedis.exited).toBe(2);
  });

  it.each(['sqlite', 'postgres'] as const)(
    'on %s: schedules both jobs, runs a cleanup job and records it, and stops on SIGTERM',
    { timeout: 60_000 },
    async (dialect) => {
      const pg = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
      const database = pg ? pg.url : `sqlite:${join(dir, 'worker.db')}`;
      const queueName = uniqueQueueName('cli');
      const queue = new Queue(queueName, { connection: redisOptionsFromUrl(REDIS_URL) });
      try {
        const run = cli(['worker', '--redis', REDIS_URL, '--database', database, '--queue', queueName], {
          AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB: '*/5 * * * *',
        });
        children.push(run.child);
        await waitFor('worker started', () => run.out.stdout.includes('mark_timed_out_task_executions: cron'), 20_000);
        expect(run.out.stdout).toContain('cleanup_old_task_executions: cron "0 2 * * *"');
        expect(run.out.stdout).toContain('mark_timed_out_task_executions: cron "*/5 * * * *"');
        const schedulers = await queue.getJobSchedulers();
        expect(schedulers.map((s) => [s.key, s.pattern]).sort()).toEqual([
          ['agentcore-task-cleanup-old-executions', '0 2 * * *'],
          ['agentcore-task-mark-timed-out-executions', '*/5 * * * *'],
        ]);

        const job = await queue.add('cleanup_old_task_executions', {});
        await waitFor('cleanup ran', () => run.out.stdout.includes(`cleanup_old_task_executions ${job.id}:`), 20_000);
        run.child.kill('SIGTERM');
        expect(await run.exited).toBe(0);
        expect(run.out.stderr).toContain('stopped');

        const tasks = await createAgentcoreTask({ database, logger: silentLogger, realtime: false });
        try {
          expect(await tasks.tracker.getTask(taskIdOf(job))).toMatchObject({
            taskName: 'cleanup_old_task_executions',
            module: 'agentcore_task',
            status: 'SUCCESS',
            result: { deleted_count: 0, retention_days: 30, only_completed: true },
          });
        } finally {
          await tasks.close();
        }
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
        await pg?.drop();
      }
    },
  );

  it('--queue-backend postgres: the whole worker on one PostgreSQL (bullmq 6), $REDIS_URL unreachable and unused', {
    timeout: 60_000,
  }, async () => {
    const pg = await createTestDatabase('postgres');
    const queueName = uniqueQueueName('cli-pg');
    const schema = `act_cli_${Date.now().toString(36)}`;
    const { createPostgresBackend } = bullmq as unknown as { createPostgresBackend: never };
    const queue = new Queue(
      queueName,
      { connection: { connectionString: pg.url, schema, migrate: true } as never },
      createPostgresBackend,
    );
    try {
      const bad = cli(['worker', '--queue-backend', 'postgres', '--database', `sqlite:${join(dir, 'y.db')}`]);
      expect(await bad.exited).toBe(2);
      expect(bad.out.stderr).toContain('postgres://');
      const run = cli(
        [
          'worker',
          '--queue-backend',
          'postgres',
          '--bullmq-schema',
          schema,
          '--database',
          pg.url,
          '--queue',
          queueName,
        ],
        { REDIS_URL: 'redis://127.0.0.1:1' },
      );
      children.push(run.child);
      await waitFor('worker started', () => run.out.stdout.includes('mark_timed_out_task_executions'), 20_000);
      expect(run.out.stdout).toContain('no Redis');
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual([
        'agentcore-task-cleanup-old-executions',
        'agentcore-task-mark-timed-out-executions',
      ]);
      const job = await queue.add('cleanup_old_task_executions', {});
      await waitFor('cleanup ran', () => run.out.stdout.includes(`cleanup_old_task_executions ${job.id}:`), 20_000);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.out.stderr).not.toMatch(/redis|ECONNREFUSED/i);
      const tasks = await createAgentcoreTask({ database: pg.url, logger: silentLogger, realtime: false });
      try {
        expect((await tasks.tracker.getTask(taskIdOf(job)))?.status).toBe('SUCCESS');
      } finally {
        await tasks.close();
      }
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await pg.drop();
    }
  });
});
