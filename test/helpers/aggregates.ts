/** Checks of the stats aggregates shared by the aggregate, compaction and backfill tests. */
import { type Kysely, sql } from 'kysely';
import { expect } from 'vitest';

type AnyDb = Kysely<any>;

/**
 * The aggregate table (summed over shards, zeros ignored) equals `count(*)` of the execution table per hour, day and
 * all time (rollups, creator `*`) and per creator for all time (grain `c`). Returns the number of runs.
 */
export async function expectAggregatesExact(db: AnyDb): Promise<number> {
  const { rows: runs } = await sql<{
    created_at: Date | string;
    created_by_id: string | null;
    module: string;
    task_name: string;
    status: string;
  }>`select created_at, created_by_id, module, task_name, status from agentcore_task_execution`.execute(db);
  const expected = new Map<string, number>();
  for (const r of runs) {
    const at = new Date(r.created_at).toISOString();
    const creator = r.created_by_id === null ? '' : `=${r.created_by_id}`;
    const key = `${r.module}|${r.task_name}|${r.status}`;
    for (const row of [`h|${at.slice(0, 13)}|*`, `d|${at.slice(0, 10)}|*`, 't||*', `c||${creator}`]) {
      expected.set(`${row}|${key}`, (expected.get(`${row}|${key}`) ?? 0) + 1);
    }
  }
  const { rows } = await sql<Record<string, string> & { n: number | string }>`select grain, bucket, creator, module,
    task_name, status, sum(n) as n from agentcore_task_stats
    group by grain, bucket, creator, module, task_name, status`.execute(db);
  const actual = new Map<string, number>();
  for (const r of rows) {
    if (Number(r.n) !== 0)
      actual.set(`${r.grain}|${r.bucket}|${r.creator}|${r.module}|${r.task_name}|${r.status}`, Number(r.n));
  }
  expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...expected].sort()));
  return runs.length;
}
