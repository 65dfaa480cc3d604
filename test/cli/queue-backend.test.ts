/**
 * `--queue-backend postgres` on `mark-timeout` and `serve`: BullMQ 6 in the --database PostgreSQL, no Redis. The
 * timeout job reads liveness from those queues (a job a worker holds is left alone), and `serve` starts with sync on
 * the same PostgreSQL; $REDIS_URL points at a closed port and is never touched.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as bullmq from 'bullmq';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { uniqueQueueName, waitFor } from '../bullmq/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { cli, runCli } from './cli.js';

const NO_REDIS = { REDIS_URL: 'redis://127.0.0.1:1' };
const { createPostgresBackend } = bullmq as unknown as { createPostgresBackend?: never };

describe.skipIf(!createPostgresBackend)('CLI with --queue-backend postgres (bullmq 6)', () => {
  const children: ChildProcess[] = [];
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const db of databases) await db.drop().catch(() => {});
  });

  it('refuses --redis with it, and a database that is not PostgreSQL (exit 2)', async () => {
    const both = await runCli(['mark-timeout', '--queue-backend', 'postgres', '--redis', 'redis://127.0.0.1:6379']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('exclude each other');
    const sqlite = await runCli(['serve', '--queue-backend', 'postgres', '--database', 'sqlite::memory:']);
    expect(sqlite.code).toBe(2);
    expect(sqlite.stderr).toContain('postgres://');
    const bad = await runCli(['mark-timeout', '--queue-backend', 'kafka']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--queue-backend');
  });

  it('mark-timeout leaves a job a worker holds alone and marks a silent run whose job is gone', {
    timeout: 60_000,
  }, async () => {
    const pg = await createTestDatabase('postgres');
    databases.push(pg);
    const schema = `act_cli_${Date.now().toString(36)}`;
    const queueName = uniqueQueueName('cli-mt');
    const connection = { connectionString: pg.url, schema, migrate: true } as never;
    const queue = new Queue(queueName, { connection }, createPostgresBackend);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const worker = new Worker(queueName, () => held, { connection }, createPostgresBackend);
    const tasks = await createAgentcoreTask({ database: pg.url, logger: silentLogger, realtime: false, env: {} });
    try {
      const job = await queue.add('long', {}, { jobId: randomUUID() });
      await waitFor('job active', async () => (await queue.getJobState(String(job.id))) === 'active');
      const gone = randomUUID();
      for (const taskId of [String(job.id), gone]) {
        await tasks.registerTaskExecution({ taskId, taskName: 'long', module: 'cli', queueName });
        await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
      }
      const hourAgo = new Date(Date.now() - 3_600_000);
      await tasks.db
        .updateTable('agentcore_task_execution')
        .set({ started_at: hourAgo, updated_at: hourAgo })
        .execute();
      const run = await runCli(
        [
          'mark-timeout',
          '--queue-backend',
          'postgres',
          '--bullmq-schema',
          schema,
          '--database',
          pg.url,
          '--timeout-minutes',
          '10',
          '--json',
        ],
        NO_REDIS,
      );
      expect(run.stderr).not.toMatch(/redis|ECONNREFUSED/i);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ updated_count: 1 });
      expect((await tasks.tracker.getTask(String(job.id)))?.status).toBe(TaskStatus.STARTED);
      expect((await tasks.tracker.getTask(gone))?.status).toBe(TaskStatus.FAILURE);
    } finally {
      release();
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await tasks.close();
    }
  });

  it('serve starts with BullMQ sync on the same PostgreSQL and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const pg = await createTestDatabase('postgres');
    databases.push(pg);
    const run = cli(
      ['serve', '--queue-backend', 'postgres', '--database', pg.url, '--port', '0', '--workers', '1'],
      NO_REDIS,
    );
    children.push(run.child);
    await waitFor('listening', () => run.out.stdout.includes('listening on'), 30_000);
    expect(run.out.stdout).toContain('BullMQ on the same PostgreSQL');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.out.stderr).not.toMatch(/ECONNREFUSED|redis:/i);
  });
});
