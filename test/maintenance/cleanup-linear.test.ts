/**
 * Cleanup is linear: on a table where old unfinished runs (kept, because `onlyCompleted`) are interleaved with old
 * completed ones, every statement resumes after the last row the previous one reached. Asserted on each database
 * through one connection, so its own counters tell how many rows the statements read: PostgreSQL's per-table
 * statistics, MariaDB's session handler counters, SQLite's query plan (an index range, never a scan of the table).
 */
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, type KyselyPlugin, MysqlDialect, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type ExecutionChange, silentLogger } from '../../src/index.js';
import { STATS_ROWS_PER_RUN } from '../../src/store/aggregates/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import type { Database as Schema } from '../../src/store/schema.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { DAY } from './helpers.js';

const OLD = 6_000;
const RECENT = 300;
const KEPT_STATUSES = ['PENDING', 'STARTED', 'RETRY'];
const DELETED_STATUSES = ['SUCCESS', 'FAILURE', 'REVOKED'];

/** A Kysely over exactly one connection, so that session counters see every statement cleanup runs. */
function oneConnection(dialect: DialectName, url: string): Kysely<Schema> {
  if (dialect === 'postgres')
    return new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
  if (dialect === 'mysql')
    return new Kysely({
      dialect: new MysqlDialect({
        pool: createPool({ uri: url, connectionLimit: 1, timezone: 'Z', jsonStrings: true }) as never,
      }),
    });
  return new Kysely({ dialect: new SqliteDialect({ database: new Database(url.replace(/^sqlite:/, '')) }) });
}

/** Rows read from the runs' table so far in this session (PostgreSQL, MariaDB); `null` on SQLite. */
async function rowsRead(dialect: DialectName, db: Kysely<Schema>): Promise<number | null> {
  if (dialect === 'postgres') {
    // This session's pending counters, flushed and read fresh (PostgreSQL 15+).
    await sql`select pg_stat_force_next_flush()`.execute(db);
    await sql`select pg_stat_clear_snapshot()`.execute(db);
    const { rows } = await sql<{ n: string }>`
      select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) as n
        from pg_stat_user_tables where relname = 'agentcore_task_execution'`.execute(db);
    return Number(rows[0].n);
  }
  if (dialect === 'mysql') {
    const { rows } = await sql<{ Variable_name: string; Value: string }>`
      show session status where Variable_name in
        ('Handler_read_first', 'Handler_read_key', 'Handler_read_next', 'Handler_read_rnd_next')`.execute(db);
    return rows.reduce((n, r) => n + Number(r.Value), 0);
  }
  return null;
}

describe.each(DIALECTS)('cleanup is linear on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('deletes every old completed run once, never reads a kept run again, and keeps all unfinished ones', {
    timeout: 60_000,
  }, async () => {
    // Old runs, every other one unfinished; twelve share each created_at (two of each status), so statements end
    // in the middle of an instant.
    const base = Date.now() - 60 * DAY;
    const rows = Array.from({ length: OLD }, (_, i) => {
      const at = tasks.dialect.toDbDate(new Date(base + Math.floor(i / 12) * 1000));
      const status = i % 2 === 0 ? KEPT_STATUSES[(i / 2) % 3] : DELETED_STATUSES[((i - 1) / 2) % 3];
      return { task_id: `old-${i}`, task_name: 't', module: 'm', status, created_at: at, updated_at: at };
    });
    for (let i = 0; i < RECENT; i++) {
      const at = tasks.dialect.toDbDate(new Date(Date.now() - i * 1000));
      rows.push({
        task_id: `recent-${i}`,
        task_name: 't',
        module: 'm',
        status: 'SUCCESS',
        created_at: at,
        updated_at: at,
      });
    }
    for (let i = 0; i < rows.length; i += 500)
      await tasks.db
        .insertInto('agentcore_task_execution')
        .values(rows.slice(i, i + 500))
        .execute();
    if (dialect === 'postgres') await sql`analyze agentcore_task_execution`.execute(tasks.db);
    const eligible = rows.filter((r) => r.task_id.startsWith('old-') && DELETED_STATUSES.includes(r.status));

    // Every row a cleanup statement handed back (deleted with RETURNING, or selected for deletion on MySQL).
    const handled: Array<{ statement: number; id: number }> = [];
    const deletes: Array<{ sql: string; parameters: readonly unknown[] }> = [];
    let statements = 0;
    const watch: KyselyPlugin = {
      transformQuery({ node, queryId }) {
        if (node.kind === 'DeleteQueryNode') deletes.push(single.getExecutor().compileQuery(node, queryId));
        return node;
      },
      async transformResult({ result }) {
        const keyed = result.rows.filter((r) => r && typeof r === 'object' && 'key_at' in r);
        if (keyed.length > 0 || (result.numAffectedRows !== undefined && result.rows.length === 0)) statements++;
        for (const r of keyed) handled.push({ statement: statements, id: Number((r as { id: unknown }).id) });
        return result;
      },
    };
    const single = oneConnection(dialect, database.url);
    const cleaner = await createAgentcoreTask({
      database: { kysely: single.withPlugin(watch), dialect },
      logger: silentLogger,
      migrate: false,
      realtime: 'memory',
      env: {},
    });
    const announced: ExecutionChange[] = [];
    cleaner.feed.subscribe((c) => announced.push(c));
    try {
      const before = await rowsRead(dialect, single);
      const result = await cleaner.maintenance.cleanupOldExecutions({ retentionDays: 30, batchSize: 1000 });
      const after = await rowsRead(dialect, single);
      expect(result.deleted_count).toBe(eligible.length);

      // Each row handled once, by one statement; the handled rows are exactly the eligible ones.
      const ids = handled.map((h) => h.id);
      expect(new Set(ids).size).toBe(ids.length);
      const left = await tasks.db.selectFrom('agentcore_task_execution').select(['task_id', 'status']).execute();
      expect(left).toHaveLength(OLD / 2 + RECENT);
      expect(left.every((r) => KEPT_STATUSES.includes(r.status) || r.task_id.startsWith('recent-'))).toBe(true);
      expect(ids).toHaveLength(eligible.length);
      // The feed delivers asynchronously.
      for (let i = 0; i < 100 && announced.length < eligible.length; i++) await new Promise((r) => setTimeout(r, 20));
      expect(announced.map((c) => c.task_id).sort()).toEqual(eligible.map((r) => r.task_id).sort());

      if (before !== null && after !== null) {
        // Linear: the walk reads each old row once (kept ones too), the delete looks each picked id up once, plus a
        // little per statement (the rows of the instant it resumes at). A cleanup that walked from the oldest row
        // each time would read the 3,000 kept runs again in every statement.
        // MySQL/MariaDB count per session, so the key lookups of the aggregate triggers (one per aggregate row a
        // deleted run counts in) are in the figure too.
        const factor = dialect === 'postgres' ? 1 : 2;
        const triggers = dialect === 'mysql' ? STATS_ROWS_PER_RUN * eligible.length : 0;
        const bound = factor * (OLD + eligible.length) + triggers + 20 * statements;
        expect(after - before).toBeLessThanOrEqual(bound);
        expect(after - before).toBeGreaterThanOrEqual(eligible.length);
      }
      if (dialect === 'sqlite') {
        // The last statement resumes at a cursor and reads an index range from it: SEARCH, never SCAN, of the table,
        // and no sort.
        const last = deletes[deletes.length - 1];
        expect(last.sql).toMatch(/"created_at" >= \?/);
        const plan = await single.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${last.sql}`, [...last.parameters]),
        );
        const text = plan.rows.map((r) => r.detail).join('\n');
        expect(text).toMatch(
          /SEARCH agentcore_task_execution USING (COVERING )?INDEX \w+created_at \(created_at>\? AND created_at<\?\)/,
        );
        expect(text).not.toMatch(/SCAN agentcore_task_execution\b/);
        expect(text).not.toMatch(/TEMP B-TREE/);
      }
    } finally {
      await cleaner.close();
      await single.destroy();
    }
  });
});
