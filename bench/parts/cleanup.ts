/**
 * Part 4 — cleanup. Runs older than the retention with the real status mix (SUCCESS 82 %, FAILURE 6 %, PENDING 4 %,
 * STARTED 3 %, REVOKED 3 %, RETRY 2 %: the old unfinished runs are kept by `onlyCompleted` and must not slow cleanup
 * down), plus recent runs that must stay, in PostgreSQL. First one raw `DELETE … WHERE created_at < $1 AND status IN
 * (…)` on a copy of the table (the time to beat: goal ≤ 2× it), then `tasks.maintenance.cleanupOldExecutions()` on
 * fresh expired rows per variant: alone (full speed), and while another instance (its own connections) registers new
 * runs at a steady rate, reporting the inserter's p99 during cleanup against its p99 just before and just after (goal:
 * at most 3×). `BENCH_CLEANUP_EXPIRED=5000000` sets the rows deleted (default: the scale's 500,000);
 * `BENCH_CLEANUP_ALONE=1` runs only the variants without a writer (at 5M the writer variants take an hour each).
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
  variants: Array<{ batchSize?: number; pauseRatio?: number; realtime: boolean; writer: boolean }>;
}) {
  const expired = Number(process.env.BENCH_CLEANUP_EXPIRED) || opts.expired;
  // Rows to generate so that about `expired` of them are completed (91 % of the mix).
  const generated = Math.round(expired / 0.91);
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
    const completedBefore = async (table: string) => {
      const { rows } = await admin.query<{ n: string }>(
        `select count(*) as n from ${table} where created_at < now() - interval '30 days' and status in ('SUCCESS', 'FAILURE', 'REVOKED')`,
      );
      return Number(rows[0].n);
    };
    // The baseline: one raw DELETE of the same rows on a copy of the table (indexes included), settled the same way.
    genSeconds += await generateExecutions(db.url, {
      rows: generated,
      from: 1,
      daysAgoFrom: 31,
      daysAgoTo: 60,
      runningShare: 0,
    });
    await admin.query('create table raw_copy (like agentcore_task_execution including all)');
    await admin.query('insert into raw_copy select * from agentcore_task_execution');
    await admin.query('vacuum analyze raw_copy');
    await admin.query('vacuum analyze agentcore_task_execution');
    await admin.query('checkpoint');
    // Context: the same single DELETE on our table, whose triggers keep the stats aggregates (one grouped upsert for
    // the whole statement: the least the aggregates can cost), then the old unfinished runs, untimed.
    const withTriggersStarted = performance.now();
    const withTriggers = await admin.query(
      `delete from agentcore_task_execution where created_at < $1 and status in ('SUCCESS', 'FAILURE', 'REVOKED')`,
      [new Date(Date.now() - 30 * 86_400_000)],
    );
    const withTriggersSeconds = (performance.now() - withTriggersStarted) / 1000;
    await admin.query("delete from agentcore_task_execution where created_at < now() - interval '30 days'");
    await admin.query('vacuum analyze agentcore_task_execution');
    await admin.query('checkpoint');
    const rawExpected = await completedBefore('raw_copy');
    const rawStarted = performance.now();
    const raw = await admin.query(
      `delete from raw_copy where created_at < $1 and status in ('SUCCESS', 'FAILURE', 'REVOKED')`,
      [new Date(Date.now() - 30 * 86_400_000)],
    );
    const rawSeconds = (performance.now() - rawStarted) / 1000;
    await admin.query('drop table raw_copy');
    measured(
      PART,
      `raw single DELETE … WHERE created_at < $1 AND status IN (…) of ${rawExpected.toLocaleString('en')} rows (copy)`,
      's',
      rawSeconds,
      null,
      '',
      raw.rowCount === rawExpected ? null : false,
      `${Math.round((raw.rowCount ?? 0) / rawSeconds)} rows/s; ${generated - rawExpected} old unfinished runs kept`,
    );
    measured(
      PART,
      `the same single DELETE on our table, aggregate triggers included (${(withTriggers.rowCount ?? 0).toLocaleString('en')} rows)`,
      's',
      withTriggersSeconds,
      rawSeconds,
      '',
      null,
      `context: ${Math.round((withTriggers.rowCount ?? 0) / withTriggersSeconds)} rows/s; the copy above has no triggers`,
    );
    const variants = process.env.BENCH_CLEANUP_ALONE === '1' ? opts.variants.filter((v) => !v.writer) : opts.variants;
    for (const [round, { batchSize, pauseRatio, realtime, writer: withWriter }] of variants.entries()) {
      if (!realtime && round > 0) {
        await Promise.all([tasks.close(), writer.close()]);
        [tasks, writer] = await Promise.all([open(false), open(false)]);
      }
      // Unfinished old runs of the earlier rounds stay (as in a real table): each round steps over more of them.
      genSeconds += await generateExecutions(db.url, {
        rows: generated,
        from: 1 + (round + 1) * generated,
        daysAgoFrom: 31,
        daysAgoTo: 60,
        runningShare: 0,
      });
      // Settle before measuring, as a real table of month-old rows is: vacuumed (here: the previous variant's dead rows,
      // which autovacuum would otherwise process during this variant's windows) and checkpointed (so the cleanup writes
      // the full-page images a real one writes, and no checkpoint of the load lands in a window by chance).
      await admin.query('vacuum analyze agentcore_task_execution');
      await admin.query('checkpoint');
      const expected = await completedBefore('agentcore_task_execution');
      const label = [
        `batchSize ${batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE}`,
        `pauseRatio ${pauseRatio ?? DEFAULT_CLEANUP_PAUSE_RATIO}`,
        ...(realtime ? [] : ['live updates off']),
        withWriter ? `writer ${opts.rate}/s` : 'no other writer',
      ].join(', ');
      const run = async () => {
        const t = performance.now();
        const result = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 30, batchSize, pauseRatio });
        return { result, seconds: (performance.now() - t) / 1000 };
      };
      if (!withWriter) {
        const { result, seconds } = await run();
        measured(
          PART,
          `cleanup of ${expected.toLocaleString('en')} expired rows (${label})`,
          's',
          seconds,
          rawSeconds,
          '≤ 2× raw DELETE',
          result.deleted_count === expected ? seconds <= 2 * rawSeconds : false,
          `${Math.round(result.deleted_count / seconds)} rows/s; ${result.deleted_count} deleted; raw DELETE ${rawSeconds.toFixed(2)} s`,
        );
        runs[label] = { seconds, result, rawSeconds };
        continue;
      }
      // Warm up, then the quiet figure, then the same load during cleanup.
      // 10 s: after the checkpoint, the writer's first change to each index page logs the whole page, which slows its
      // commits for several seconds; the quiet figure should not include that (nor a fresh pool's connects, nor JIT).
      await steadyInserter(register(`warm${round}`), opts.rate).stopAfter(10_000);
      const quiet = await steadyInserter(register(`quiet${round}`), opts.rate).stopAfter(opts.quietMs);
      const busyLoad = steadyInserter(register(`busy${round}`), opts.rate);
      const { result, seconds } = await run();
      const busy = await busyLoad.stop();
      const after = await steadyInserter(register(`after${round}`), opts.rate).stopAfter(opts.quietMs);
      // The quiet figure pools the windows just before and just after: the same conditions around the cleanup.
      const q = summarize([...quiet.samples, ...after.samples]);
      const b = summarize(busy.samples);
      const before = summarize(quiet.samples);
      const afterwards = summarize(after.samples);
      measured(
        PART,
        `cleanup of ${expected.toLocaleString('en')} expired rows (${label})`,
        's',
        seconds,
        null,
        '',
        result.deleted_count === expected ? null : false,
        `${Math.round(result.deleted_count / seconds)} rows/s; ${result.deleted_count} deleted`,
      );
      latency(
        PART,
        `inserter p99 during cleanup (${label})`,
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
      expired,
      generatedPerRound: generated,
      rawSeconds,
      withTriggersSeconds,
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
