/**
 * `agentcore-task record` as a subprocess: records the runs of a queue processed by a plain BullMQ worker, stores
 * its position in the config table, exits 0 on SIGTERM; bad usage exits 2, an unreachable database 1.
 */
import type { ChildProcess } from 'node:child_process';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { redisOptionsFromUrl } from '../../src/queue/bullmq/index.js';
import { uniqueQueueName, waitFor } from '../bullmq/helpers.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { cli, runCli } from './cli.js';

describe('agentcore-task record', () => {
  const database = useTestDatabase('postgres');
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('--help describes it; bad usage exits 2; an unreachable database exits 1', async () => {
    const help = await runCli(['record', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--queues LIST');
    expect(help.stdout).toContain('--bullmq-postgres URL');
    expect((await runCli(['--help'])).stdout).toMatch(/record\s+Record every run of existing BullMQ queues/);

    const noQueues = await runCli(['record', '--redis', REDIS_URL]);
    expect(noQueues.code).toBe(2);
    expect(noQueues.stderr).toContain('--queues');
    const noBackend = await runCli(['record', '--queues', 'a']);
    expect(noBackend.code).toBe(2);
    expect(noBackend.stderr).toContain('--redis');
    const both = await runCli(['record', '--queues', 'a', '--redis', REDIS_URL, '--bullmq-postgres', 'postgres://x/y']);
    expect(both.code).toBe(2);
    const colon = await runCli(['record', '--queues', 'a:b', '--redis', REDIS_URL]);
    expect(colon.code).toBe(2);
    expect(colon.stderr).toContain('":"');

    const down = await runCli([
      'record',
      '--queues',
      'a',
      '--redis',
      REDIS_URL,
      '--database',
      'postgres://postgres@127.0.0.1:1/nothing',
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach the database');
  });

  it('records a plain worker’s runs, stores its position, and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
    const names = [uniqueQueueName('cli-rec-a'), uniqueQueueName('cli-rec-b')];
    const connection = redisOptionsFromUrl(REDIS_URL);
    const queues = names.map((n) => new Queue(n, { connection }));
    const workers = names.map(
      (n) =>
        new Worker(
          n,
          async (job) => {
            if (job.name === 'bad') throw new Error('nope');
            return { ok: job.data.n };
          },
          { connection },
        ),
    );
    try {
      const run = cli([
        'record',
        '--queues',
        names.join(','),
        '--redis',
        REDIS_URL,
        '--database',
        database.url,
        '--module',
        'imports',
      ]);
      children.push(run.child);
      await waitFor('recorder started', () => run.out.stdout.split('following its events').length === 3, 30_000);
      expect(run.out.stdout).toContain(`recorder on queues ${names.join(', ')}`);

      const good = await queues[0]!.add('good', { n: 1 });
      const bad = await queues[1]!.add('bad', { n: 2 });
      // Both queues number their jobs from 1, so whichever job the recorder sees second is stored as `<queue>:<id>`.
      const runOf = async (queue: string, jobId: string | undefined) => {
        for (const taskId of [String(jobId), `${queue}:${jobId}`]) {
          const row = await tasks.tracker.getTask(taskId);
          if (row?.queueName === queue) return row;
        }
        return null;
      };
      await waitFor('both recorded', async () => {
        const [a, b] = await Promise.all([runOf(names[0]!, good.id), runOf(names[1]!, bad.id)]);
        return a?.status === 'SUCCESS' && b?.status === 'FAILURE';
      });
      expect(await runOf(names[0]!, good.id)).toMatchObject({
        taskName: 'good',
        module: 'imports',
        queueName: names[0],
        result: { ok: 1 },
        taskKwargs: { n: 1 },
      });

      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.out.stderr).toContain('stopped');
      const positions = await tasks.db
        .selectFrom('agentcore_task_config')
        .select(['key', 'value'])
        .where('key', 'like', 'recorder:%')
        .execute();
      expect(positions.map((p) => p.key).sort()).toEqual(names.map((n) => `recorder:${n}:last_event_id`).sort());
      for (const p of positions)
        expect(JSON.parse(p.value)).toMatchObject({ eventId: expect.stringMatching(/^\d+-\d+$/) });
      // The config API's settings are untouched by these rows.
      expect(await tasks.settings.overrides()).toEqual({});
    } finally {
      await Promise.all(workers.map((w) => w.close(true)));
      for (const q of queues) {
        await q.obliterate({ force: true }).catch(() => {});
        await q.close();
      }
      await tasks.close();
    }
  });
});
