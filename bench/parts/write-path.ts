/**
 * Part 1 — write path. `registerTaskExecution` and `updateTaskStatus` (3-key metadata merge) against the raw driver
 * doing the same single statement, with the same pool size and concurrency, on PostgreSQL and SQLite. On PostgreSQL
 * also one caller awaiting each write in turn (no overlap: no group commit to gain, only its wait to lose) against a
 * raw `pg` loop doing the same.
 *
 * The raw side writes to a table of its own (`raw_task_execution`: same columns and indexes, but not the triggers that
 * keep the stats aggregates), so the ratio is the full cost of the library, aggregates included, against the plain
 * statement (the Django module's table has no triggers either). Writing to our table would charge our triggers to
 * the baseline too.
 */
import Sqlite from 'better-sqlite3';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { DEFAULT_POOL_SIZE } from '../../src/store/connect.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { rate, rawPgPool, throughput } from '../lib.js';

const PART = '1 write path';
/** The raw side's table: a copy of the execution table's columns and indexes, without its triggers. */
const RAW_TABLE = 'raw_task_execution';

export async function writePath(opts: { rows: number }) {
  for (const dialect of ['postgres', 'sqlite'] as const) {
    const db = await createTestDatabase(dialect);
    const tasks = await createAgentcoreTask({ database: db.url, logger: silentLogger, env: {} });
    const concurrency = dialect === 'postgres' ? DEFAULT_POOL_SIZE : 1;
    const now = () => (dialect === 'sqlite' ? new Date().toISOString() : new Date());
    const row = (i: number, prefix: string) => [
      `${prefix}-${i}`,
      'bench.task',
      'bench',
      'PENDING',
      now(),
      now(),
      '[]',
      '{"n":1}',
      '{"source":"bench"}',
      '42',
      'alice',
    ];
    const insertSql =
      'insert into raw_task_execution (task_id, task_name, module, status, created_at, updated_at, task_args, task_kwargs, metadata, created_by_id, created_by_username) values ';
    // The same row change as ours (status, metadata merge, updated_at), and, for context, metadata alone: a status
    // is in four indexes, so changing it costs far more than the merge (on SQLite ~60 µs against ~15 µs).
    const updateSqlPg =
      "update raw_task_execution set status = 'STARTED', metadata = metadata || $1::jsonb, updated_at = $2 where task_id = $3";
    const updateSqlLite =
      "update raw_task_execution set status = 'STARTED', metadata = json_patch(metadata, ?), updated_at = ? where task_id = ?";
    const metadataOnly = (statement: string) => statement.replace("status = 'STARTED', ", '');
    let rawInsert: (i: number) => Promise<unknown>;
    let rawUpdate: (i: number) => Promise<unknown>;
    let rawMetadataUpdate: (i: number) => Promise<unknown>;
    let closeRaw: () => Promise<void>;
    if (dialect === 'postgres') {
      const pool = rawPgPool(db.url);
      await pool.query(`create table ${RAW_TABLE} (like agentcore_task_execution including all)`);
      rawInsert = (i) =>
        pool.query(`${insertSql}($1,$2,$3,$4,$5,$6,$7::jsonb,$8::jsonb,$9::jsonb,$10,$11)`, row(i, 'raw'));
      rawUpdate = (i) => pool.query(updateSqlPg, [JSON.stringify({ a: i, b: 'x', c: true }), new Date(), `raw-${i}`]);
      rawMetadataUpdate = (i) =>
        pool.query(metadataOnly(updateSqlPg), [JSON.stringify({ a: i, b: 'y', c: true }), new Date(), `raw-${i}`]);
      closeRaw = () => pool.end();
    } else {
      const lite = new Sqlite(db.url.replace(/^sqlite:/, ''));
      lite.pragma('journal_mode = WAL');
      // SQLite has no `create table … like`: the table's and its indexes' own DDL, renamed (triggers left out).
      const ddl = lite
        .prepare(
          "select sql from sqlite_master where tbl_name = 'agentcore_task_execution' and type in ('table', 'index') and sql is not null",
        )
        .all() as Array<{ sql: string }>;
      for (const { sql } of ddl) lite.exec(sql.replaceAll('agentcore_task_execution', RAW_TABLE));
      const ins = lite.prepare(`${insertSql}(?,?,?,?,?,?,?,?,?,?,?)`);
      const upd = lite.prepare(updateSqlLite);
      const updMetadata = lite.prepare(metadataOnly(updateSqlLite));
      rawInsert = async (i) => ins.run(...row(i, 'raw'));
      rawUpdate = async (i) => upd.run(JSON.stringify({ a: i, b: 'x', c: true }), new Date().toISOString(), `raw-${i}`);
      rawMetadataUpdate = async (i) =>
        updMetadata.run(JSON.stringify({ a: i, b: 'y', c: true }), new Date().toISOString(), `raw-${i}`);
      closeRaw = async () => void lite.close();
    }
    const n = dialect === 'postgres' ? opts.rows : opts.rows * 2;
    // Warm up both paths, then measure raw and ours alternately twice and keep the better of each (noisy machine).
    await rate(200, concurrency, (i) => rawInsert(1e9 + i));
    await rate(200, concurrency, (i) =>
      tasks.registerTaskExecution({
        taskId: `warm-${i}`,
        taskName: 'bench.task',
        module: 'bench',
        taskKwargs: { n: 1 },
      }),
    );
    let bestRawIns = 0;
    let bestOursIns = 0;
    let bestRawUpd = 0;
    let bestOursUpd = 0;
    let bestRawMetadataUpd = 0;
    for (const round of [0, 1]) {
      const off = round * n;
      bestRawIns = Math.max(bestRawIns, await rate(n, concurrency, (i) => rawInsert(off + i)));
      bestOursIns = Math.max(
        bestOursIns,
        await rate(n, concurrency, (i) =>
          tasks.registerTaskExecution({
            taskId: `ours-${off + i}`,
            taskName: 'bench.task',
            module: 'bench',
            taskKwargs: { n: 1 },
            metadata: { source: 'bench' },
            createdBy: { id: 42, username: 'alice' },
          }),
        ),
      );
      bestRawUpd = Math.max(bestRawUpd, await rate(n, concurrency, (i) => rawUpdate(off + i)));
      bestRawMetadataUpd = Math.max(bestRawMetadataUpd, await rate(n, concurrency, (i) => rawMetadataUpdate(off + i)));
      bestOursUpd = Math.max(
        bestOursUpd,
        await rate(n, concurrency, (i) =>
          tasks.tracker.updateTaskStatus(`ours-${off + i}`, 'STARTED', { metadata: { a: i, b: 'x', c: true } }),
        ),
      );
    }
    throughput(
      PART,
      `${dialect} registerTaskExecution`,
      'rows/s',
      bestOursIns,
      bestRawIns,
      0.5,
      `raw INSERT into a table without our triggers, concurrency ${concurrency}`,
    );
    throughput(
      PART,
      `${dialect} updateTaskStatus + 3-key merge`,
      'rows/s',
      bestOursUpd,
      bestRawUpd,
      0.5,
      'raw UPDATE of the same columns: status, metadata merge, updated_at',
    );
    throughput(
      PART,
      `${dialect} updateTaskStatus vs a metadata-only UPDATE`,
      'rows/s',
      bestOursUpd,
      bestRawMetadataUpd,
      null,
      'context: raw UPDATE … SET metadata = metadata || $1 (no status change, so no index changes)',
    );
    if (dialect === 'postgres') await sequential(tasks, db.url, n * 4);
    await closeRaw();
    await tasks.close();
    await db.drop();
  }
}

/**
 * `count` sequential awaited registers, then `count` sequential awaited updates (STARTED + 2-key metadata merge), each
 * beside a raw `pg` loop of the same statements on one connection. Raw and ours run in alternating slices of a few
 * hundred calls (which side goes first alternates too), so the load of a shared machine hits both alike.
 */
async function sequential(tasks: AgentcoreTask, url: string, count: number) {
  const pool = rawPgPool(url, 1);
  const insertRaw = (taskId: string) =>
    pool.query(
      `insert into ${RAW_TABLE} (task_id, task_name, module, status, created_at, updated_at, task_args, ` +
        'task_kwargs, metadata, created_by_id, created_by_username) values ($1,$2,$3,$4,$5,$6,$7::jsonb,$8::jsonb,$9::jsonb,$10,$11)',
      [
        taskId,
        'bench.task',
        'bench',
        'PENDING',
        new Date(),
        new Date(),
        '[]',
        '{"n":1}',
        '{"source":"bench"}',
        '42',
        'alice',
      ],
    );
  const updateRaw = (taskId: string, i: number) =>
    pool.query(
      `update ${RAW_TABLE} set status = 'STARTED', metadata = metadata || $1::jsonb, updated_at = $2 where task_id = $3`,
      [JSON.stringify({ a: i, b: 'x' }), new Date(), taskId],
    );
  const register = (taskId: string) =>
    tasks.registerTaskExecution({
      taskId,
      taskName: 'bench.task',
      module: 'bench',
      taskKwargs: { n: 1 },
      metadata: { source: 'bench' },
      createdBy: { id: 42, username: 'alice' },
    });
  const [oursIns, rawIns] = await alternating(
    count,
    (i) => register(`seq-ours-${i}`),
    (i) => insertRaw(`seq-raw-${i}`),
  );
  const [oursUpd, rawUpd] = await alternating(
    count,
    (i) => tasks.tracker.updateTaskStatus(`seq-ours-${i}`, 'STARTED', { metadata: { a: i, b: 'x' } }),
    (i) => updateRaw(`seq-raw-${i}`, i),
  );
  throughput(
    PART,
    `postgres registerTaskExecution, ${count} sequential awaited`,
    'rows/s',
    oursIns,
    rawIns,
    0.8,
    'raw pg INSERT loop into a table without our triggers, one caller, each awaited; alternating slices',
  );
  throughput(
    PART,
    `postgres updateTaskStatus STARTED + 2-key merge, ${count} sequential awaited`,
    'rows/s',
    oursUpd,
    rawUpd,
    0.8,
    'raw pg UPDATE loop (status, metadata merge, updated_at), one caller, each awaited; alternating slices',
  );
  await pool.end();
}

/** Runs `count` awaited calls of each of `a` and `b` in alternating slices; returns the calls per second of each. */
async function alternating(
  count: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  slice = 250,
): Promise<[number, number]> {
  const ms = [0, 0];
  const sides = [a, b];
  for (let start = 0, turn = 0; start < count; start += slice, turn++) {
    const end = Math.min(count, start + slice);
    for (const side of turn % 2 === 0 ? [0, 1] : [1, 0]) {
      const began = performance.now();
      for (let i = start; i < end; i++) await sides[side]!(i);
      ms[side]! += performance.now() - began;
    }
  }
  return [count / (ms[0]! / 1000), count / (ms[1]! / 1000)];
}
