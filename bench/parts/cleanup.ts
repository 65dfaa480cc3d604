/**
 * Part 4 — cleanup. 500,000 completed runs older than the retention (plus recent runs that must stay) in
 * PostgreSQL; `tasks.maintenance.cleanupOldExecutions()` deletes them in batches while another instance (its own
 * connections) registers new runs at a steady rate. Reported: the total cleanup time, and the inserter's p99 latency
 * during cleanup against its p99 just before and just after, without cleanup (goal: at most 3×). Each variant runs on a
 * fresh set of expired rows: the defaults, the same without pauses between statements (what pacing buys), and the
 * defaults without live updates (what announcing the deletions costs).
 */
import pg from 'pg';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { DEFAULT_CLEANUP_BATCH_SIZE, DEFAULT_CLEANUP_PAUSE_RATIO } from '../../src/maintenance/names.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { details, latency, measured, summarize } from '../lib.js';
import { generateExecutions } from '../support/generate.js';

const PART = '4 cleanup';

/** Registers runs at `rate`/s (open loop: a slow insert does not delay the next) until `stop()`; returns latencies. */
function steadyInserter(register: (i: number) => Promise<unknown>, rate: number) {
  const samples: number[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let errors = 0;
  let stopped = false;
  const started = performance.now();
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      const p = register(i)
        .then(() => samples.push(performance.now() - t))
        .catch(() => errors++)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  })();
  const stop = async () => {
    stopped = true;
    await loop;
    await Promise.all(inFlight);
    return { samples, errors };
  };
  return {
    stop,
    async stopAfter(ms: number) {
      await new Promise((r) => setTimeout(r, ms));
      return stop();
    },
  };
}

export async function cleanup(opts: {
  expired: number;
  recent: number;
  rate: number;
  quietMs: number;
  /**
   * Each on a fresh set of expired rows. `realtime: false`: both instances without live updates. `pauseRatio`
   * absent: the default.
   */
  variants: Array<{ batchSize?: number; pauseRatio?: number; realtime: boolean }>;
}) {
  const db = await createTestDatabase('postgres');
  // Defaults a user gets on PostgreSQL: live updates over LISTEN/NOTIFY (cleanup announces every run it deletes).
  const open = (realtime: boolean) =>
    createAgentcoreTask({
      database: db.url,
      logger: silentLogger,
      env: {},
      ...(realtime ? {} : { realtime: false as const }),
    });
  let tasks = await open(true);
  let writer = await open(true);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    let genSeconds = await generateExecutions(db.url, { rows: opts.recent, from: 1e9, daysAgoTo: 29 });
    const register = (tag: string) => (i: number) =>
      writer.registerTaskExecution({
        taskId: `insert-${tag}-${i}`,
        taskName: 'bench.insert',
        module: 'bench',
        createdBy: { id: i % 1000 },
        metadata: { i },
      });
    const runs: Record<string, unknown> = {};
    for (const [round, { batchSize, pauseRatio, realtime }] of opts.variants.entries()) {
      if (!realtime && round > 0) {
        await Promise.all([tasks.close(), writer.close()]);
        [tasks, writer] = await Promise.all([open(false), open(false)]);
      }
      genSeconds += await generateExecutions(db.url, {
        rows: opts.expired,
        from: 1 + round * opts.expired,
        daysAgoFrom: 31,
        daysAgoTo: 60,
        runningShare: 0,
      });
      // Settle before measuring, as a real table of month-old rows is: vacuumed (here: the previous variant's dead rows,
      // which autovacuum would otherwise process during this variant's windows) and checkpointed (so the cleanup writes
      // the full-page images a real one writes, and no checkpoint of the load lands in a window by chance).
      await admin.query('vacuum analyze agentcore_task_execution');
      await admin.query('checkpoint');
      // Warm up, then the quiet figure, then the same load during cleanup.
      // 10 s: after the checkpoint, the writer's first change to each index page logs the whole page, which slows its
      // commits for several seconds; the quiet figure should not include that (nor a fresh pool's connects, nor JIT).
      await steadyInserter(register(`warm${round}`), opts.rate).stopAfter(10_000);
      const quiet = await steadyInserter(register(`quiet${round}`), opts.rate).stopAfter(opts.quietMs);
      const busyLoad = steadyInserter(register(`busy${round}`), opts.rate);
      const t = performance.now();
      const result = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 30, batchSize, pauseRatio });
      const seconds = (performance.now() - t) / 1000;
      const busy = await busyLoad.stop();
      const after = await steadyInserter(register(`after${round}`), opts.rate).stopAfter(opts.quietMs);
      // The quiet figure pools the windows just before and just after: the same conditions around the cleanup.
      const q = summarize([...quiet.samples, ...after.samples]);
      const b = summarize(busy.samples);
      const label = [
        `batchSize ${batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE}`,
        `pauseRatio ${pauseRatio ?? DEFAULT_CLEANUP_PAUSE_RATIO}`,
        ...(realtime ? [] : ['live updates off']),
      ].join(', ');
      const before = summarize(quiet.samples);
      const afterwards = summarize(after.samples);
      measured(
        PART,
        `cleanup of ${opts.expired.toLocaleString('en')} expired rows (${label})`,
        's',
        seconds,
        null,
        '',
        result.deleted_count === opts.expired ? null : false,
        `${Math.round(result.deleted_count / seconds)} rows/s; ${result.deleted_count} deleted`,
      );
      latency(
        PART,
        `inserter p99 during cleanup (${label}; ${opts.rate}/s)`,
        'p99 ms',
        b.p99,
        q.p99,
        3,
        `baseline: same inserter just before and after, no cleanup (p99 ${before.p99.toFixed(1)} before, ${afterwards.p99.toFixed(1)} after); p95 ${b.p95.toFixed(1)}/${q.p95.toFixed(1)}, p50 ${b.p50.toFixed(1)}/${q.p50.toFixed(1)} ms; ${b.n} samples; ${busy.errors + quiet.errors + after.errors} errors`,
      );
      runs[label] = { seconds, result, quiet: q, before, after: afterwards, busy: b };
    }
    const left = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('task_id', 'like', 'bench-%')
      .executeTakeFirstOrThrow();
    details.cleanup = {
      expired: opts.expired,
      recent: opts.recent,
      recentLeft: Number(left.n),
      generateSeconds: Math.round(genSeconds),
      runs,
    };
  } finally {
    await admin.end();
    await writer.close();
    await tasks.close();
    await db.drop();
  }
}
