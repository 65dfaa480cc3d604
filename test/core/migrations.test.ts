import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { EXECUTION_INDEXES, migrateToLatest } from '../../src/store/migrations.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

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
