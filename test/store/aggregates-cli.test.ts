import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { runCli } from '../cli/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

/** `agentcore-task rebuild-stats` as a subprocess: recounts corrupted aggregates, reports progress and its result. */
describe.each(DIALECTS)('agentcore-task rebuild-stats on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false, env: {} });
    for (let i = 0; i < 12; i++) {
      await tasks.registerTaskExecution({
        taskId: `cli-${i}`,
        taskName: `job.${i % 3}`,
        module: i % 2 ? 'a' : 'b',
        ...(i % 4 ? { createdBy: { id: i % 4, username: `u${i % 4}` } } : {}),
      });
      if (i % 3 === 0) await tasks.tracker.updateTaskStatus(`cli-${i}`, 'SUCCESS');
    }
  });
  afterAll(async () => {
    await tasks?.close();
  });

  const counts = async () =>
    (
      await sql<{ grain: string; n: number | string }>`select grain, sum(n) as n from agentcore_task_stats
        group by grain order by grain`.execute(tasks.db)
    ).rows.map((r) => [r.grain, Number(r.n)]);

  it('recounts the aggregates from the table', async () => {
    const exact = await counts();
    expect(exact).toEqual([
      ['c', 12],
      ['d', 12],
      ['h', 12],
      ['t', 12],
    ]);
    const before = await tasks.tracker.getTaskStats({ granularity: 'day' });
    // Rows written with the triggers off, as after a restore: the aggregates are wrong until rebuilt.
    await sql`delete from agentcore_task_stats where grain = 't'`.execute(tasks.db);
    await sql`update agentcore_task_stats set n = n * 3`.execute(tasks.db);
    expect(await counts()).not.toEqual(exact);

    const { code, stdout, stderr } = await runCli([
      'rebuild-stats',
      '--database',
      database.url,
      '--json',
      '--batch-size',
      '5',
    ]);
    expect(stderr).toContain('recounting runs:');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.runs).toBe(12);
    // One chunk per 5 runs, cut on whole hours (the runs share one or two), then the daily and total rows.
    expect(result.chunks).toBeGreaterThanOrEqual(3);
    expect(await counts()).toEqual(exact);
    expect(await tasks.tracker.getTaskStats({ granularity: 'day' })).toEqual(before);
  });

  it('prints a summary without --json', async () => {
    const { code, stdout } = await runCli(['rebuild-stats', '--database', database.url]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Recounted 12 runs in \d+ transactions \(\d+(\.\d)? s\)\.\n$/);
  });

  it('refuses a bad --batch-size with exit code 2', async () => {
    const { code, stderr } = await runCli(['rebuild-stats', '--database', database.url, '--batch-size', '0']);
    expect(code).toBe(2);
    expect(stderr).toContain('--batch-size');
  });
});

describe('agentcore-task rebuild-stats --help', () => {
  it('documents the command and is listed in the usage', async () => {
    const help = await runCli(['rebuild-stats', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: agentcore-task rebuild-stats');
    const usage = await runCli(['--help']);
    expect(usage.stdout).toMatch(/rebuild-stats\s+Recount the stats aggregates/);
  });
});
