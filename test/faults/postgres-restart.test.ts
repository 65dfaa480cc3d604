/**
 * PostgreSQL goes away while 200 tracked BullMQ jobs run and report progress: once restarted cleanly
 * (`pg_ctl restart -m fast`), once as a crash with two seconds of downtime. Every job must still end with its final
 * status, result and progress recorded: nothing acknowledged is lost, and no job is failed by the outage.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, redisOptionsFromUrl, tracked } from '../../src/queue/bullmq/index.js';
import { REDIS_URL } from '../helpers/env.js';
import { PrivatePostgres } from './helpers/services.js';

const JOBS = 200;
const STEPS = 10;
const STEP_MS = 400;
const connection = redisOptionsFromUrl(REDIS_URL);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('PostgreSQL restarted under 200 running tracked jobs', () => {
  let cluster: PrivatePostgres;
  let url: string;
  beforeAll(async () => {
    cluster = await PrivatePostgres.start();
    url = await cluster.createDatabase('act_faults');
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  for (const fault of ['restart', 'crash with 2 s down'] as const) {
    it(`${fault}: every final status, result and progress recorded, zero lost`, async () => {
      const tasks: AgentcoreTask = await createAgentcoreTask({ database: url, logger: silentLogger, env: {} });
      const queue = new Queue(`act-faults-pg-${randomBytes(4).toString('hex')}`, { connection });
      let worker: Worker | undefined;
      let maxPending = 0;
      const sampler = setInterval(() => {
        maxPending = Math.max(maxPending, tasks.tracker.pendingWrites);
      }, 5);
      try {
        const ids: string[] = [];
        for (let i = 0; i < JOBS; i++) {
          const { job } = await dispatch(tasks, queue, 'faulty', { i }, { module: 'faults', createdBy: { id: i % 7 } });
          ids.push(job.id!);
        }
        const processor = tracked<{ i: number }>(
          tasks,
          async (job, ctx) => {
            for (let step = 1; step <= STEPS; step++) {
              await sleep(STEP_MS * (0.5 + Math.random()));
              await ctx.progress({ percent: step * 10, step: `step-${step}`, message: `job ${job.data.i}` });
            }
            return { done: job.data.i };
          },
          { module: 'faults', heartbeatIntervalMs: 500 },
        );
        let completed = 0;
        const failed: string[] = [];
        worker = new Worker(queue.name, processor, { connection, concurrency: JOBS });
        worker.on('completed', () => completed++);
        worker.on('failed', (job, error) => failed.push(`${job?.id}: ${error.message}`));

        // Wait until every job runs and has reported, then take the database away mid-run.
        const running = async () =>
          Number(
            (
              await tasks.db
                .selectFrom('agentcore_task_execution')
                .select((eb) => eb.fn.countAll<string>().as('n'))
                .where('status', '=', 'STARTED')
                .where('queue_name', '=', queue.name)
                .executeTakeFirstOrThrow()
            ).n,
          );
        const deadline = Date.now() + 20_000;
        while ((await running()) < JOBS) {
          if (Date.now() > deadline) throw new Error('jobs did not all start');
          await sleep(50);
        }
        await sleep(STEP_MS);
        const before = await cluster.startedAt();
        if (fault === 'restart') await cluster.restart();
        else await cluster.outage(2000);
        expect(await cluster.startedAt()).not.toBe(before);

        while (completed + failed.length < JOBS) {
          if (Date.now() > deadline + 60_000) throw new Error(`only ${completed} jobs completed`);
          await sleep(50);
        }
        expect(failed).toEqual([]);
        expect(await tasks.tracker.flush(30_000)).toBe(true);

        // The outage really hit writes in flight: some were held in the buffer.
        expect(maxPending).toBeGreaterThan(0);
        const rows = await tasks.db
          .selectFrom('agentcore_task_execution')
          .selectAll()
          .where('queue_name', '=', queue.name)
          .execute();
        const byId = new Map(rows.map((r) => [r.task_id, r]));
        const lost: string[] = [];
        for (const [i, id] of ids.entries()) {
          const row = byId.get(id);
          const metadata = row?.metadata as Record<string, unknown> | undefined;
          if (
            row?.status !== 'SUCCESS' ||
            (row.result as { done?: number } | null)?.done !== i ||
            metadata?.progress_percent !== 100 ||
            metadata?.progress_step !== `step-${STEPS}` ||
            row.finished_at === null ||
            row.started_at === null
          )
            lost.push(`${id}: ${JSON.stringify({ status: row?.status, result: row?.result, metadata })}`);
        }
        expect(lost).toEqual([]);
        expect(rows).toHaveLength(JOBS);
      } finally {
        clearInterval(sampler);
        await worker?.close();
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
        await tasks.close();
      }
    });
  }
});
