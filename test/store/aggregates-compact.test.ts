import { type Kysely, type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type Logger,
  silentLogger,
  TaskStatus,
  type TaskStatusValue,
  ValidationError,
} from '../../src/index.js';
import type { CleanupResult } from '../../src/maintenance/cleanup.js';
import { compactAggregates } from '../../src/store/aggregates/index.js';
import { expectAggregatesExact } from '../helpers/aggregates.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { prng } from '../helpers/prng.js';

/**
 * Compaction of the stats aggregates: after writes on several connections (so that keys spread over shards) and
 * deletes, and while writers keep writing, every key's sum still equals `count(*) … group by` over the execution table;
 * with no writer left, each key has one row and no row counts 0. Cleanup runs it and the table shrinks. On all three
 * databases.
 */

type AnyDb = Kysely<any>;

const HOUR = 3_600_000;
const DAY = 86_400_000;
const STATUSES = Object.values(TaskStatus).filter((s) => typeof s === 'string') as TaskStatusValue[];
const MODULES = ['m1', 'm2'];
const NAMES = ['t1', 't2'];

/** How the aggregate table looks: rows, keys, keys with more than one row, rows counting 0. */
async function shape(db: AnyDb) {
  const { rows } = await sql<{ n_rows: number | string; n_keys: number | string; spread: number | string }>`
    select coalesce(sum(c), 0) as n_rows, count(*) as n_keys, coalesce(sum(case when c > 1 then 1 else 0 end), 0) as spread
    from (select count(*) as c from agentcore_task_stats
      group by grain, bucket, creator, module, task_name, status) as k`.execute(db);
  const { rows: zeros } = await sql<{ n: number | string }>`select count(*) as n from agentcore_task_stats
    where n = 0`.execute(db);
  return {
    rows: Number(rows[0].n_rows),
    keys: Number(rows[0].n_keys),
    spread: Number(rows[0].spread),
    zeros: Number(zeros[0].n),
  };
}

/** Exact, one row per key, no zero row. */
async function expectCompact(db: AnyDb) {
  await expectAggregatesExact(db);
  const s = await shape(db);
  expect(s.spread).toBe(0);
  expect(s.zeros).toBe(0);
  expect(s.rows).toBe(s.keys);
}

describe.each(DIALECTS)('compactAggregates on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  /** Writers: two instances (two pools) on PostgreSQL and MySQL, so that statements run on many connections. */
  let writers: AgentcoreTask[] = [];
  let tasks: AgentcoreTask;
  let db: AnyDb;
  let seq = 0;
  const random = prng(17);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)];

  beforeAll(async () => {
    const open = () =>
      createAgentcoreTask({
        database: database.url,
        logger: silentLogger,
        realtime: false,
        env: {},
      });
    tasks = await open();
    db = tasks.db as AnyDb;
    // SQLite: one connection (a second one in the same process would wait on the first's lock with the loop blocked).
    writers = dialect === 'sqlite' ? [tasks] : [tasks, await open()];
  });
  afterAll(async () => {
    for (const w of writers.slice(1)) await w.close();
    await tasks?.close();
  });

  const at = (agoMs: number) => tasks.dialect.toDbDate(new Date(Date.now() - agoMs));
  const count = async (where = sql`1 = 1`) =>
    Number(
      (await sql<{ n: number | string }>`select count(*) as n from agentcore_task_stats where ${where}`.execute(db))
        .rows[0].n,
    );

  /**
   * Writer statements that lost a deadlock. MySQL/MariaDB's row triggers lock aggregate rows in run order, so a
   * multi-row delete (the test's, or cleanup's) and single-row writers can deadlock each other, with or without
   * compaction (which never waits for a lock, so it is never part of one): the loser rolls back whole, triggers
   * included, and the sums stay exact. A compaction that failed would fail the test.
   */
  let deadlocks = 0;
  const deadlocked = (error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code !== 'ER_LOCK_DEADLOCK' && code !== '40P01') throw error;
    deadlocks++;
  };

  /** One random write through `w`: a register, an insert in the past, a status/module/time change or a delete. */
  async function write(w: AgentcoreTask) {
    await writeOnce(w).catch(deadlocked);
  }

  async function writeOnce(w: AgentcoreTask) {
    const kind = random();
    const id = () => `run-${Math.floor(random() * seq) + 1}`;
    const wdb = w.db as AnyDb;
    if (kind < 0.25) {
      seq++;
      await w.registerTaskExecution({
        taskId: `run-${seq}`,
        taskName: pick(NAMES),
        module: pick(MODULES),
        ...(random() < 0.3 ? {} : { createdBy: { id: pick([1, 'alice']), username: 'u' } }),
      });
    } else if (kind < 0.55) {
      seq++;
      // Up to 40 days old, on many hours: cleanup and the deletes have something to leave behind.
      const when = at(Math.floor(random() * 40 * 24) * HOUR + 60_000);
      await wdb
        .insertInto('agentcore_task_execution')
        .values({
          task_id: `run-${seq}`,
          task_name: pick(NAMES),
          module: pick(MODULES),
          status: pick(STATUSES),
          created_at: when,
          updated_at: when,
          created_by_id: pick([null, '1', 'alice']),
        })
        .execute();
    } else if (kind < 0.85) {
      await wdb
        .updateTable('agentcore_task_execution')
        .set({
          status: pick(STATUSES),
          ...(random() < 0.3 ? { module: pick(MODULES) } : {}),
          ...(random() < 0.2 ? { created_at: at(Math.floor(random() * 40 * 24) * HOUR) } : {}),
        })
        .where('task_id', '=', id())
        .execute();
    } else {
      await wdb.deleteFrom('agentcore_task_execution').where('task_id', '=', id()).execute();
    }
  }

  /** `loops` concurrent writers (spread over the instances), `ops` writes each, or until `until()` says stop. */
  async function writeConcurrently(loops: number, ops: number, until?: () => boolean) {
    await Promise.all(
      Array.from({ length: loops }, async (_, i) => {
        const w = writers[i % writers.length];
        for (let k = 0; until ? !until() : k < ops; k++) await write(w);
      }),
    );
  }

  it('folds shards and drops zero rows after writes on several connections and deletes; the sums stay exact', async () => {
    await writeConcurrently(8, 60);
    await expectAggregatesExact(db);
    // The deletes of a cleanup, in plain SQL (cleanup itself compacts).
    await db
      .deleteFrom('agentcore_task_execution')
      .where('created_at', '<', at(20 * DAY))
      .execute();
    await expectAggregatesExact(db);
    const before = await shape(db);
    expect(before.zeros).toBeGreaterThan(0);
    // Concurrent writers on several connections spread keys over shards (SQLite has one writer: shard 0 only).
    if (dialect !== 'sqlite') expect(before.spread).toBeGreaterThan(0);

    const result = await compactAggregates(db, dialect, { batchSize: 13 });
    expect(result.scanned).toBe(before.rows);
    // A batch takes whole keys: 13 rows and the rest of the last key's shards.
    expect(result.batches).toBeGreaterThanOrEqual(Math.floor(before.rows / (13 + 7)));
    expect(result.removed).toBeGreaterThan(0);
    if (dialect !== 'sqlite') expect(result.folded).toBeGreaterThan(0);
    expect(before.rows - result.folded - result.removed).toBe((await shape(db)).rows);
    await expectCompact(db);
    expect(await count()).toBeLessThan(before.rows);

    // Nothing left to do: a second pass changes nothing.
    const again = await compactAggregates(db, dialect);
    expect(again).toMatchObject({ folded: 0, removed: 0, batches: 1 });
    await expectCompact(db);
  });

  it('keeps every sum exact while writers on several connections write during compaction', {
    timeout: 120_000,
  }, async () => {
    let writing = true;
    const writes = writeConcurrently(8, 150).finally(() => {
      writing = false;
    });
    let changed = 0;
    let passes = 0;
    try {
      // Small batches: many statements, each among the writers' upserts of the same few keys. The deletes of a
      // cleanup meanwhile, so that rows go to 0 under the compaction's feet.
      while (writing || passes < 2) {
        await db
          .deleteFrom('agentcore_task_execution')
          .where('created_at', '<', at(Math.max(36 - 4 * passes, 10) * DAY))
          .execute()
          .catch(deadlocked);
        const r = await compactAggregates(db, dialect, { batchSize: 20 });
        changed += r.folded + r.removed;
        passes++;
      }
    } finally {
      await writes;
    }
    expect(changed).toBeGreaterThan(0);
    // PostgreSQL's statement-level triggers upsert in key order: no writer ever lost a deadlock.
    if (dialect !== 'mysql') expect(deadlocks).toBe(0);
    await expectAggregatesExact(db);
    // With the writers gone, compaction folds what they held.
    await compactAggregates(db, dialect, { batchSize: 7 });
    await expectCompact(db);
  });

  it('the cleanup job compacts the aggregates after it deletes: the table shrinks, the old hours and days go', {
    timeout: 60_000,
  }, async () => {
    await writeConcurrently(8, 50);
    const cutoffDay = new Date(Date.now() - 15 * DAY).toISOString().slice(0, 10);
    const oldRows = sql`grain in ('h', 'd') and bucket < ${cutoffDay}`;
    const before = await count();
    expect(await count(oldRows)).toBeGreaterThan(0);
    const result = (await tasks.maintenance.runCleanupJob({
      retentionDays: 15,
      onlyCompleted: false,
    })) as CleanupResult;
    expect(result.deleted_count).toBeGreaterThan(0);
    expect(result.aggregates_compacted).toMatchObject({ removed: expect.any(Number), ms: expect.any(Number) });
    expect(result.aggregates_compacted!.removed).toBeGreaterThan(0);
    // Every run before the cutoff went, so did the rows of its hours and days (those of the cutoff's day may stay).
    expect(await count(oldRows)).toBe(0);
    expect(await count()).toBeLessThan(before);
    // The only zero rows are the job's own run's (recorded STARTED, then SUCCESS after the compaction).
    expect(await count(sql`n = 0 and module <> 'agentcore_task'`)).toBe(0);
    await expectAggregatesExact(db);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from (select distinct module, task_name,
      status from agentcore_task_execution) as k`.execute(db);
    // The all-time rollup holds one row per key (and the job's own run its zero STARTED row).
    expect(await count(sql`grain = 't' and bucket = '' and module <> 'agentcore_task'`)).toBe(Number(rows[0].n) - 1);
  });

  it('cleanupOldExecutions alone deletes runs and leaves the aggregates to the job (no compaction)', async () => {
    await writeConcurrently(2, 20);
    const result = await tasks.maintenance.cleanupOldExecutions({ retentionDays: 15, onlyCompleted: false });
    expect(result.deleted_count).toBeGreaterThan(0);
    expect(result.aggregates_compacted).toBeUndefined();
    await expectAggregatesExact(db);
  });

  it('a compaction failure after cleanup is a warning; the cleanup job still succeeds', async () => {
    await writeConcurrently(2, 20);
    const eligible = Number(
      (
        await db
          .selectFrom('agentcore_task_execution')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('created_at', '<', at(15 * DAY))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(eligible).toBeGreaterThan(0);
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_obj, msg) => warnings.push(String(msg)) };
    // Every statement on the aggregate table fails (the cleanup's own statements are on the runs' table).
    const failing: KyselyPlugin = {
      transformQuery({ node }) {
        if (JSON.stringify(node).includes('agentcore_task_stats')) throw new Error('injected failure');
        return node;
      },
      async transformResult({ result }) {
        return result;
      },
    };
    const faulty = await createAgentcoreTask({
      database: { kysely: db.withPlugin(failing), dialect },
      logger,
      migrate: false,
      realtime: false,
    });
    try {
      const result = (await faulty.maintenance.runCleanupJob({
        retentionDays: 15,
        onlyCompleted: false,
      })) as CleanupResult;
      expect(result.deleted_count).toBe(eligible);
      expect(result.aggregates_compacted).toBeUndefined();
    } finally {
      await faulty.close();
    }
    expect(warnings).toEqual(['agentcore-task: compacting the stats aggregates after cleanup failed']);
    await expectAggregatesExact(db);
  });

  it('rejects a bad batchSize with a ValidationError naming it', async () => {
    for (const batchSize of [0, -1, 1.5, 100_001, Number.NaN]) {
      const error = await compactAggregates(db, dialect, { batchSize }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('batchSize');
    }
  });
});
