import { spawn } from 'node:child_process';
import * as bullmq from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch } from '../../src/queue/bullmq/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const root = new URL('../../', import.meta.url).pathname;

/**
 * examples/one-postgres.ts end to end on one PostgreSQL with no Redis reachable ($REDIS_URL on a closed port): a job
 * dispatched by another process (a web app) is processed by the example's tracked worker (BullMQ's PostgreSQL
 * backend), its changes reach the example's live stream (LISTEN/NOTIFY), the API reads it back synced from the queue,
 * and the dashboard is served.
 */
describe('examples/one-postgres.ts: one PostgreSQL, no Redis', () => {
  let pg: TestDatabase;
  beforeAll(async () => {
    pg = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await pg?.drop();
  });

  it('worker, API, stream and dashboard work with Redis unreachable', { timeout: 60_000 }, async () => {
    const schema = `act_one_pg_${Date.now().toString(36)}`;
    const queueName = `one-pg-${Date.now().toString(36)}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/one-postgres.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: pg.url,
        BULLMQ_SCHEMA: schema,
        QUEUE_NAME: queueName,
        PORT: '0',
        REDIS_URL: 'redis://127.0.0.1:1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const m = output.match(pattern);
        if (m) return m;
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const { createPostgresBackend } = bullmq as unknown as { createPostgresBackend: never };
    const queue = new bullmq.Queue(
      queueName,
      { connection: { connectionString: pg.url, schema, migrate: true } as never },
      createPostgresBackend,
    );
    const tasks = await createAgentcoreTask({ database: pg.url, logger: silentLogger });
    const abort = new AbortController();
    try {
      const [, base] = await waitFor(/listening on (http:\/\/\S+)\/dashboard\//);
      await waitFor(/SUCCESS \{ rows: 42 \}/);

      // The live stream of the example's API, open before another process dispatches a job.
      const stream = await fetch(`${base}/executions/stream/`, { signal: abort.signal });
      expect(stream.status).toBe(200);
      let events = '';
      const reading = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>)
          events += decoder.decode(chunk, { stream: true });
      })().catch(() => {});

      const { job } = await dispatch(
        tasks,
        queue,
        'send_report',
        { reportId: 2 },
        {
          module: 'reports',
          createdBy: { id: 1, username: 'alice' },
        },
      );
      const taskId = String(job.id);
      const deadline = Date.now() + 20_000;
      while (!(events.includes(taskId) && /"status":\s*"SUCCESS"/.test(events.slice(events.indexOf(taskId) - 2000)))) {
        if (Date.now() > deadline) throw new Error(`no SUCCESS of ${taskId} on the stream:\n${events}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      abort.abort();
      await reading;

      const row = await tasks.tracker.getTask(taskId);
      const detail = await fetch(`${base}/executions/${row?.id}/`);
      expect(detail.status, await detail.clone().text()).toBe(200);
      expect(await detail.json()).toMatchObject({ task_id: taskId, status: 'SUCCESS', result: { rows: 12 } });
      const dashboard = await fetch(`${base}/dashboard/`);
      expect(dashboard.status).toBe(200);
      // Nothing tried Redis: no connection error, no mention of it.
      expect(output).not.toMatch(/redis|ECONNREFUSED/i);
    } finally {
      abort.abort();
      child.kill('SIGTERM');
      await tasks.close();
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
    }
    expect(await exited).toBe(0);
  });
});
