/**
 * Part 4 — cleanup. 500,000 completed runs older than the retention (plus recent runs that must stay) in
 * PostgreSQL; `tasks.maintenance.cleanupOldExecutions()` deletes them in batches while another instance (its own
 * connections) registers new runs at a steady rate. Reported: the total cleanup time, and the inserter's p99 latency
 * during cleanup against its p99 measured just before, without cleanup (goal: at most 3×).
 */
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
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
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      return { samples, errors };
    },
  };
}

export async function cleanup(opts: { expired: number; recent: number; rate: number; quietMs: number }) {
  const db = await createTestDatabase('postgres');
  const tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
  const writer = await createAgentcoreTask({
    database: db.url,
    realtime: false,
    logger: silentLogger,
    env: {},
    migrate: false,
  });
  try {
    const genSeconds =
      (await generateExecutions(db.url, { rows: opts.expired, daysAgoFrom: 31, daysAgoTo: 60, runningShare: 0 })) +
      (await generateExecutions(db.url, { rows: opts.recent, from: opts.expired + 1, daysAgoTo: 29 }));
    let run = 0;
    const register = (tag: string) => (i: number) =>
      writer.registerTaskExecution({
        taskId: `insert-${tag}-${run}-${i}`,
        taskName: 'bench.insert',
        module: 'bench',
        createdBy: { id: i % 1000 },
        metadata: { i },
      });
    // Warm up, then the quiet figure, then the same load during cleanup.
    run++;
    await (async () => {
      const w = steadyInserter(register('warm'), opts.rate);
      await new Promise((r) => setTimeout(r, 1000));
      await w.stop();
    })();
    const quietLoad = steadyInserter(register('quiet'), opts.rate);
    await new Promise((r) => setTimeout(r, opts.quietMs));
    const quiet = await quietLoad.stop();

    const busyLoad = steadyInserter(register('busy'), opts.rate);
    const t = performance.now();
    const result = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 30 });
    const seconds = (performance.now() - t) / 1000;
    const busy = await busyLoad.stop();

    const left = await tasks.db
      .selectFrom('agentcore_task_execution')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const q = summarize(quiet.samples);
    const b = summarize(busy.samples);
    measured(
      PART,
      `cleanup of ${opts.expired.toLocaleString('en')} expired rows`,
      's',
      seconds,
      null,
      '',
      result.deleted_count === opts.expired ? null : false,
      `${Math.round(result.deleted_count / seconds)} rows/s, batches of 5000; ${result.deleted_count} deleted, ${left.n} left`,
    );
    latency(
      PART,
      `inserter p99 during cleanup (${opts.rate}/s)`,
      'p99 ms',
      b.p99,
      q.p99,
      3,
      `baseline: same inserter without cleanup; p50 ${b.p50.toFixed(1)}/${q.p50.toFixed(1)} ms; ${busy.errors + quiet.errors} errors`,
    );
    details.cleanup = {
      expired: opts.expired,
      recent: opts.recent,
      generateSeconds: Math.round(genSeconds),
      result,
      rowsLeft: Number(left.n),
      quiet: q,
      busy: b,
    };
  } finally {
    await writer.close();
    await tasks.close();
    await db.drop();
  }
}
