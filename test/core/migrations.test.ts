import { randomBytes } from 'node:crypto';
import { type Kysely, Migrator, sql } from 'kysely';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, LOCK_KEY_PREFIX, silentLogger } from '../../src/index.js';
import { EXECUTION_INDEXES, migrateToLatest, migrationsFor } from '../../src/store/migrations.js';
import {
  EXACT_COLLATIONS,
  exactCollation,
  IDENTIFIER_COLUMNS,
  makeIdentifiersExact,
} from '../../src/store/mysql/collation.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../../src/store/schema.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import { MYSQL_ADMIN_URL } from '../helpers/env.js';

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  const database = useTestDatabase(dialect);

  it('are idempotent and safe to run from several instances at once', async () => {
    const instances = await Promise.all(
      [1, 2, 3].map(() => createAgentcoreTask({ database: database.url, logger: silentLogger, env: {} })),
    );
    try {
      const again = await migrateToLatest(instances[0].db, dialect);
      expect(again).toEqual([]);
      const names = await indexNames(instances[0], dialect);
      for (const index of Object.keys(EXECUTION_INDEXES)) expect(names).toContain(index);
      if (dialect === 'postgres') expect(names).toContain('agentcore_task_execution_metadata_gin');
      const row = await instances[1].registerTaskExecution({ taskId: 'm1', taskName: 't', module: 'm' });
      expect(row!.metadata).toEqual({});
      expect(row!.taskArgs).toEqual([]);
    } finally {
      await Promise.all(instances.map((i) => i.close()));
    }
  });
});

/**
 * Migration 0003 on a database created before it: the tables as 0001/0002 made them (the database's default,
 * case-insensitive PAD SPACE collation), with rows, converted in place. `latin1` is the default character set of
 * older MariaDB installs, so a converted column may also change character set.
 */
describe.each(['utf8mb4', 'latin1'])(
  'migration 0003 on an existing MySQL/MariaDB schema (database charset %s)',
  (charset) => {
    const name = `act_m3_${charset}_${randomBytes(4).toString('hex')}`;
    const url = (() => {
      const u = new URL(MYSQL_ADMIN_URL);
      u.pathname = `/${name}`;
      return u.toString();
    })();
    afterAll(async () => {
      const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
      await admin.query(`drop database if exists ${name}`);
      await admin.end();
    });

    it('converts identifier columns to a binary NO PAD collation, keeping types, defaults, indexes and rows', async () => {
      const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
      await admin.query(`create database ${name} character set ${charset}`);
      await admin.end();
      const old = await createAgentcoreTask({ database: url, logger: silentLogger, env: {}, migrate: false });
      try {
        const { error } = await migrator(old.db).migrateTo('0002_config_and_lock');
        expect(error).toBeUndefined();
        await sql`insert into agentcore_task_execution (task_id, task_name, module, status, created_at, updated_at,
          task_args, created_by_id, queue_name)
        values ('Report-42', 'reports.build', 'reports', 'STARTED', utc_timestamp(3), utc_timestamp(3), '["bob"]', 'bob', 'q1')`.execute(
          old.db,
        );
        await sql`insert into agentcore_task_config (\`key\`, value, updated_at) values ('Retention', '30', utc_timestamp(3))`.execute(
          old.db,
        );
        await sql`insert into agentcore_task_lock (name, owner, expires_at, created_at)
        values (${`${LOCK_KEY_PREFIX}Lock-A`}, 'owner-1', date_add(utc_timestamp(3), interval 1 hour), utc_timestamp(3))`.execute(
          old.db,
        );
        const before = await identifierColumns(old.db);
        // The bug this migration removes: an id differing in case and trailing space finds bob's row.
        expect((await old.tracker.getTask('report-42 '))?.taskArgs).toEqual(['bob']);
        const collation = await exactCollation(old.db);
        expect(EXACT_COLLATIONS.slice(0, 2)).toContain(collation);
        for (const column of before) expect(column.collation_name).not.toBe(collation);

        expect(await migrateToLatest(old.db, 'mysql')).toEqual(['0003_exact_identifiers', '0004_stats_aggregates']);

        const after = await identifierColumns(old.db);
        expect(after.map((c) => c.collation_name)).toEqual(after.map(() => collation));
        expect(after.map((c) => c.character_set_name)).toEqual(after.map(() => 'utf8mb4'));
        // Type, length, nullability and default as 0001/0002 made them.
        const shape = (cs: typeof after) => cs.map((c) => [c.key, c.column_type, c.is_nullable, c.column_default]);
        expect(shape(after)).toEqual(shape(before));
        expect(await indexNames(old, 'mysql')).toEqual(expect.arrayContaining(Object.keys(EXECUTION_INDEXES)));

        // Old rows intact; near-miss ids are other runs now, and the unique index still holds exact duplicates.
        expect(await old.tracker.getTask('Report-42')).toMatchObject({ taskArgs: ['bob'], createdById: 'bob' });
        expect(await old.tracker.getTask('report-42 ')).toBeNull();
        const alice = await old.registerTaskExecution({
          taskId: 'report-42 ',
          taskName: 'reports.build',
          module: 'reports',
          taskArgs: ['alice'],
          createdBy: { id: 'alice' },
        });
        expect(alice).toMatchObject({ taskId: 'report-42 ', taskArgs: ['alice'], createdById: 'alice' });
        expect(await old.tracker.getTask('Report-42')).toMatchObject({ taskArgs: ['bob'], status: 'STARTED' });
        await expect(
          sql`insert into agentcore_task_execution (task_id, created_at, updated_at) values ('Report-42', utc_timestamp(3), utc_timestamp(3))`.execute(
            old.db,
          ),
        ).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
        const lockRows = await sql<{ name: string }>`select name from agentcore_task_lock`.execute(old.db);
        expect(lockRows.rows.map((r) => r.name)).toEqual([`${LOCK_KEY_PREFIX}Lock-A`]);
        expect(await old.locks.isTaskLocked('Lock-A')).toBe(true);
        expect(await old.locks.isTaskLocked('lock-a')).toBe(false);
        expect(await old.locks.acquireTaskLock('lock-a', 60)).toBe(true);
        expect(await old.locks.releaseTaskLock('lock-a')).toBe(true);

        // Idempotent: nothing left to convert, and the migration is recorded.
        expect(await makeIdentifiersExact(old.db, collation)).toEqual([]);
        expect(await migrateToLatest(old.db, 'mysql')).toEqual([]);
      } finally {
        await old.close();
      }
    });
  },
);

function migrator(db: Kysely<any>) {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrationsFor('mysql') },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

async function identifierColumns(db: Kysely<any>) {
  const { rows } = await sql<{
    table_name: string;
    column_name: string;
    column_type: string;
    is_nullable: string;
    column_default: string | null;
    character_set_name: string | null;
    collation_name: string | null;
  }>`select table_name as table_name, column_name as column_name, column_type as column_type, is_nullable as is_nullable,
      column_default as column_default, character_set_name as character_set_name, collation_name as collation_name
    from information_schema.columns where table_schema = database()`.execute(db);
  const byKey = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
  return IDENTIFIER_COLUMNS.map((c) => {
    const key = `${c.table}.${c.column}`;
    const row = byKey.get(key);
    if (!row) throw new Error(`column ${key} missing`);
    return { key, ...row };
  });
}

async function indexNames(tasks: Awaited<ReturnType<typeof createAgentcoreTask>>, dialect: string): Promise<string[]> {
  if (dialect === 'postgres') {
    const r = await sql<{
      name: string;
    }>`select indexname as name from pg_indexes where tablename = 'agentcore_task_execution'`.execute(tasks.db);
    return r.rows.map((x) => x.name);
  }
  if (dialect === 'mysql') {
    const r = await sql<{
      name: string;
    }>`select distinct index_name as name from information_schema.statistics where table_schema = database() and table_name = 'agentcore_task_execution'`.execute(
      tasks.db,
    );
    return r.rows.map((x) => x.name);
  }
  const r = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'index' and tbl_name = 'agentcore_task_execution'`.execute(tasks.db);
  return r.rows.map((x) => x.name);
}
