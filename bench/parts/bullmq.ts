/**
 * Part 2 — BullMQ. No-op jobs at concurrency 50 in one worker: tracked (`dispatch` + `tracked`, recorded in
 * PostgreSQL) against untracked (`queue.add` + a plain processor), on the same Redis, in the same run.
 * Measured in two phases so each cost is visible on its own: adding the jobs (50 adds in flight) and processing them
 * (the worker started on a full queue), plus the two together (end to end).
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, redisOptionsFromUrl, tracked } from '../../src/queue/bullmq/index.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { REDIS_URL } from '../../test/helpers/env.js';
import { absolute, cpuPerItem, cpuSample, details, latency, rate, rawPgPool, throughput } from '../lib.js';

const PART = '2 bullmq';
const CONCURRENCY = 50;
const connection = redisOptionsFromUrl(REDIS_URL);

type Processor = ConstructorParameters<typeof Worker>[1];

/**
 * The floor of any design that records each job's end in PostgreSQL before the job completes: a plain processor that
 * waits for one raw `UPDATE … WHERE task_id = ANY($1)` shared by every job waiting at that moment (at most two in
 * flight), setting what our `SUCCESS` sets. No library code; a lower bound for the cost of the row change alone.
 */
function rawBatchedProcessor(pool: ReturnType<typeof rawPgPool>): Processor {
  let waiting: Array<{ id: string; done: () => void; fail: (e: unknown) => void }> = [];
  let inFlight = 0;
  const pump = () => {
    while (inFlight < 2 && waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      inFlight++;
      pool
        .query(
          `update agentcore_task_execution set status = 'SUCCESS', result = 'null', error = null, traceback = null,
             started_at = coalesce(started_at, now()), finished_at = coalesce(finished_at, now()), updated_at = now(),
             metadata = metadata || '{"attempt":1}' where task_id = any($1)`,
          [batch.map((w) => w.id)],
        )
        .then(
          () => {
            for (const w of batch) w.done();
          },
          (e) => {
            for (const w of batch) w.fail(e);
          },
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  return (job) =>
    new Promise<null>((resolve, reject) => {
      waiting.push({ id: String(job.id), done: () => resolve(null), fail: reject });
      if (waiting.length === 1) setImmediate(pump);
    });
}

/** CPU per job of each process while a full queue was processed, by phase (see `processAll`). */
const cpu: Record<string, ReturnType<typeof cpuPerItem>> = {};

/**
 * Starts a worker on a full queue; resolves with jobs/s once `count` jobs have completed. With `label`, also notes
 * the CPU time per job of this process, PostgreSQL and Redis, and how busy the machine was, under `cpu[label]`.
 */
async function processAll(queueName: string, processor: Processor, count: number, label?: string): Promise<number> {
  let done = 0;
  let failed = 0;
  const before = cpuSample();
  const started = performance.now();
  const worker = new Worker(queueName, processor, { connection, concurrency: CONCURRENCY });
  await new Promise<void>((resolve) => {
    const check = () => {
      if (done + failed >= count) resolve();
    };
    worker.on('completed', () => {
      done++;
      check();
    });
    worker.on('failed', () => {
      failed++;
      check();
    });
  });
  const perSecond = count / ((performance.now() - started) / 1000);
  if (label) cpu[label] = cpuPerItem(before, cpuSample(), count);
  await worker.close();
  if (failed > 0) throw new Error(`${failed} jobs failed in ${queueName}`);
  return perSecond;
}

export async function bullmq(opts: { jobs: number }) {
  const n = opts.jobs;
  const run = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const db = await createTestDatabase('postgres');
  // Defaults a user gets on PostgreSQL (pool of 10, live updates over LISTEN/NOTIFY).
  const tasks = await createAgentcoreTask({ database: db.url, logger: silentLogger, env: {} });
  const queues: Queue[] = [];
  const queue = (label: string) => {
    const q = new Queue(`bench-${label}-${run}`, { connection });
    queues.push(q);
    return q;
  };
  const noop = async () => null;
  try {
    // Warm up both paths (connections, scripts, prepared statements).
    {
      const q = queue('warm');
      await rate(200, CONCURRENCY, (i) => dispatch(tasks, q, 'noop', { i }, { module: 'bench' }));
      await processAll(q.name, tracked(tasks, noop, { module: 'bench' }), 200);
    }

    // Phase 1: adding. Phase 2: processing a full queue. Untracked first, then tracked; each on its own queue.
    const plainQueue = queue('untracked');
    const addRate = await rate(n, CONCURRENCY, (i) => plainQueue.add('noop', { i }));
    const plainRate = await processAll(plainQueue.name, noop, n, 'plain');

    const trackedQueue = queue('tracked');
    const dispatchRate = await rate(n, CONCURRENCY, (i) =>
      dispatch(tasks, trackedQueue, 'noop', { i }, { module: 'bench', createdBy: { id: i % 100 } }),
    );
    const trackedRate = await processAll(trackedQueue.name, tracked(tasks, noop, { module: 'bench' }), n, 'tracked');

    // The floor: the same jobs' rows changed by raw batched UPDATEs, no library (rows registered by dispatch).
    const rawPool = rawPgPool(db.url);
    const floorQueue = queue('raw-floor');
    await rate(n, CONCURRENCY, (i) => dispatch(tasks, floorQueue, 'noop', { i }, { module: 'bench' }));
    const floorRate = await processAll(floorQueue.name, rawBatchedProcessor(rawPool), n, 'floor');
    await rawPool.end();

    // End to end: adding and processing at the same time.
    const e2e = async (q: Queue, add: (i: number) => Promise<unknown>, processor: Processor) => {
      const started = performance.now();
      const processing = processAll(q.name, processor, n);
      await rate(n, CONCURRENCY, add);
      await processing;
      return n / ((performance.now() - started) / 1000);
    };
    const plainE2eQueue = queue('untracked-e2e');
    const plainE2e = await e2e(plainE2eQueue, (i) => plainE2eQueue.add('noop', { i }), noop);
    const trackedE2eQueue = queue('tracked-e2e');
    const trackedE2e = await e2e(
      trackedE2eQueue,
      (i) => dispatch(tasks, trackedE2eQueue, 'noop', { i }, { module: 'bench' }),
      tracked(tasks, noop, { module: 'bench' }),
    );

    // Context: the same comparison for jobs that do 10 ms of (asynchronous) work, a quarter as many.
    const work = async () => {
      await new Promise((r) => setTimeout(r, 10));
      return null;
    };
    const m = Math.max(100, Math.round(n / 4));
    const plainWorkQueue = queue('untracked-10ms');
    await rate(m, CONCURRENCY, (i) => plainWorkQueue.add('work', { i }));
    const plainWork = await processAll(plainWorkQueue.name, work, m);
    const trackedWorkQueue = queue('tracked-10ms');
    await rate(m, CONCURRENCY, (i) => dispatch(tasks, trackedWorkQueue, 'work', { i }, { module: 'bench' }));
    const trackedWork = await processAll(trackedWorkQueue.name, tracked(tasks, work, { module: 'bench' }), m);

    // Nothing lost: every tracked job recorded as SUCCESS.
    await tasks.tracker.flush();
    const rows = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .where('queue_name', 'in', [trackedQueue.name, trackedE2eQueue.name, trackedWorkQueue.name])
      .groupBy('status')
      .execute();
    const success = Number(rows.find((r) => r.status === 'SUCCESS')?.n ?? 0);
    const lost = 2 * n + m - success;

    throughput(
      PART,
      'process (worker, concurrency 50)',
      'jobs/s',
      trackedRate,
      plainRate,
      0.75,
      `tracked vs plain processor; ${n} jobs`,
    );
    throughput(
      PART,
      'floor: plain processor + raw batched UPDATE per job',
      'jobs/s',
      floorRate,
      plainRate,
      null,
      'context: no library; every job waits for one raw UPDATE … WHERE task_id = ANY($1) shared with the jobs waiting then',
    );
    throughput(PART, 'add (50 in flight)', 'jobs/s', dispatchRate, addRate, null, 'dispatch vs queue.add');
    throughput(
      PART,
      'add + process together',
      'jobs/s',
      trackedE2e,
      plainE2e,
      0.75,
      `end to end${lost === 0 ? '; all runs recorded SUCCESS' : `; ${lost} runs NOT recorded SUCCESS`}`,
    );
    throughput(
      PART,
      'process 10 ms jobs (concurrency 50)',
      'jobs/s',
      trackedWork,
      plainWork,
      null,
      `context: ${m} jobs that each wait 10 ms; ceiling ${CONCURRENCY / 0.01} jobs/s`,
    );
    // Where the time goes: CPU per job of every process (this one, PostgreSQL, Redis), and what that allows. The plain
    // worker keeps the two cores nearly busy by itself, so every microsecond a tracked job adds anywhere lowers the
    // ratio. The ceiling adds to the plain job only what PostgreSQL spent per job on the floor's raw batched UPDATE,
    // and lets the machine be 100 % busy: the best ratio any design that writes each job's row can reach here.
    const total = (c: ReturnType<typeof cpuPerItem>) => c.node_us + c.postgres_us + c.redis_us;
    const { plain, tracked: ours, floor } = cpu;
    if (plain && ours && floor && Number.isFinite(total(plain))) {
      latency(
        PART,
        'CPU per no-op job (worker + PostgreSQL + Redis)',
        'µs',
        total(ours),
        total(plain),
        null,
        `context: tracked ${ours.node_us} + ${ours.postgres_us} + ${ours.redis_us}, plain ${plain.node_us} + ${plain.postgres_us} + ${plain.redis_us}, floor ${floor.node_us} + ${floor.postgres_us} + ${floor.redis_us} µs; machine busy ${ours.machine_busy} / ${plain.machine_busy} / ${floor.machine_busy}`,
      );
      const ceiling = total(plain) / (plain.machine_busy * (total(plain) + floor.postgres_us));
      absolute(
        PART,
        "ceiling: plain job + the floor's PostgreSQL CPU per job, machine 100 % busy",
        'ratio',
        ceiling,
        '',
        null,
        'context: the highest tracked/untracked ratio a design that updates one row per job could reach on this machine, with no library or driver cost at all',
      );
    }
    details[PART] = { cpu_per_job: cpu };
    console.log('\npart 2, CPU per no-op job while processing a full queue (µs) and machine busy share:');
    console.table(cpu);
    return { lost };
  } finally {
    for (const q of queues) {
      await q.obliterate({ force: true }).catch(() => {});
      await q.close();
    }
    await tasks.close();
    await db.drop();
  }
}
