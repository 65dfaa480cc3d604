/**
 * The one-shot commands (`migrate`, `list`, `show`, `stats`, `cleanup`, `mark-timeout`) as subprocesses on SQLite and
 * PostgreSQL: output, `--json` equal to what the REST API returns for the same query, exit codes, and errors that say
 * what to do. Independent commands run in parallel to keep the file fast.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import { useTestDatabase } from '../helpers/databases.js';
import { runCli } from './cli.js';

const DAY = 86_400_000;
const ADMIN = { id: 3, username: 'admin', isAdmin: true };

/** What the REST API answers an admin for `path` (in process, the same handler the server uses). */
async function rest(tasks: AgentcoreTask, path: string): Promise<unknown> {
  const response = await tasks.handler({ getUser: () => ADMIN })(new Request(`http://localhost${path}`));
  expect(response.status, path).toBe(200);
  return response.json();
}

/** Moves a run's timestamps (test set-up: old runs for cleanup, silent runs for the timeout). */
async function backdate(tasks: AgentcoreTask, taskId: string, at: { created?: Date; started?: Date; updated: Date }) {
  const d = (x: Date) => tasks.dialect.toDbDate(x);
  await tasks.db
    .updateTable('agentcore_task_execution')
    .set({
      updated_at: d(at.updated),
      ...(at.created ? { created_at: d(at.created) } : {}),
      ...(at.started ? { started_at: d(at.started) } : {}),
    })
    .where('task_id', '=', taskId)
    .execute();
}

async function seed(tasks: AgentcoreTask): Promise<void> {
  const { tracker } = tasks;
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    const taskId = `old-ok-${i}`;
    await tracker.registerTaskExecution({ taskId, taskName: 'archive.compact', module: 'archive' });
    await tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: i });
    await backdate(tasks, taskId, { created: new Date(now - 20 * DAY), updated: new Date(now - 20 * DAY) });
  }
  await tracker.registerTaskExecution({
    taskId: 'old-running',
    taskName: 'archive.compact',
    module: 'archive',
    initialStatus: TaskStatus.STARTED,
  });
  await backdate(tasks, 'old-running', { created: new Date(now - 20 * DAY), updated: new Date(now) });
  for (const taskId of ['stale-1', 'stale-2', 'alive']) {
    await tracker.registerTaskExecution({
      taskId,
      taskName: 'sync.pull',
      module: 'sync',
      initialStatus: TaskStatus.STARTED,
    });
    const silent = taskId === 'alive' ? 0 : 3_600_000;
    await backdate(tasks, taskId, { started: new Date(now - 7_200_000), updated: new Date(now - silent) });
  }
  await tracker.registerTaskExecution({
    taskId: 'report-1',
    taskName: 'reports.generate',
    module: 'reports',
    createdBy: { id: 7, username: 'alice' },
  });
  await tracker.updateTaskStatus('report-1', TaskStatus.STARTED);
  await tracker.reportProgress('report-1', { percent: 40, step: 'render', message: 'Rendering page 4' });
  await tracker.registerTaskExecution({
    taskId: 'fail-1',
    taskName: 'billing.charge',
    module: 'billing',
    taskArgs: [1, 'x'],
    taskKwargs: { invoice: 9 },
    createdBy: { id: 'u-abc', username: 'bob' },
  });
  const error = new Error('card declined');
  await tracker.updateTaskStatus('fail-1', TaskStatus.FAILURE, { error: error.message, traceback: error.stack });
  await tracker.registerTaskExecution({
    taskId: 'ok-1',
    taskName: 'billing.refund',
    module: 'billing',
    createdBy: { id: 7, username: 'alice' },
  });
  await tracker.updateTaskStatus('ok-1', TaskStatus.SUCCESS, { result: { rows: 3 } });
  await tracker.flush();
}

describe.each(['sqlite', 'postgres'] satisfies DialectName[])('CLI commands on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask | undefined;
  const db = () => ['--database', database.url];
  afterAll(async () => {
    await tasks?.close();
  });

  it('before migrate, reading commands say to run migrate (exit 1); migrate creates the tables and is idempotent', async () => {
    const before = await runCli(['list', ...db()]);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('agentcore-task migrate --database');
    expect(before.stdout).toBe('');

    const first = await runCli(['migrate', ...db()]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied 0001_execution, 0002_config_and_lock/);
    const again = await runCli(['migrate', '--json', ...db()]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      applied: [],
      migrations: ['0001_execution', '0002_config_and_lock', '0003_exact_identifiers', '0004_stats_aggregates'],
    });
  });

  it('list, show and stats: readable tables, --json equal to the REST API, unknown ids and past-the-end pages exit 1', async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
    await seed(tasks);
    const billingQuery = ['--module', 'billing', '--status', 'failure', '--ordering', 'task_name', '--page-size', '1'];
    const [table, billing, pastEnd, showText, showJson, unknown, statsText, statsJson] = await Promise.all([
      runCli(['list', '--created-by', '7', ...db()]),
      runCli(['list', '--json', ...billingQuery, ...db()]),
      runCli(['list', '--page', '999', ...db()]),
      runCli(['show', 'fail-1', ...db()]),
      runCli(['show', 'fail-1', '--json', ...db()]),
      runCli(['show', 'no-such-run', ...db()]),
      runCli(['stats', ...db()]),
      runCli(['stats', '--json', '--module', 'billing', ...db()]),
    ]);

    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TASK ID\s+TASK NAME\s+MODULE\s+STATUS\s+PROGRESS/);
    expect(table.stdout).toMatch(/\n\d+\s+ok-1\s+billing\.refund\s+billing\s+SUCCESS\s+-\s+/);
    expect(table.stdout).toMatch(/\n\d+\s+report-1\s+reports\.generate\s+reports\s+STARTED\s+40% render\s+/);
    expect(table.stdout).toContain('1-2 of 2 runs (page 1 of 1)');

    // The flags are the REST query (status in any case): the same runs, serialized the same way.
    expect(billing.code, billing.stderr).toBe(0);
    const page = JSON.parse(billing.stdout);
    const restPage = (await rest(
      tasks,
      '/executions/?my_tasks=false&module=billing&status=FAILURE&ordering=task_name&page_size=1',
    )) as typeof page;
    expect(page.results).toEqual(restPage.results);
    expect(page).toMatchObject({ count: 1, next: null, previous: null });
    expect(page.results[0]).toMatchObject({ task_id: 'fail-1', created_by_id: 'u-abc', created_by_username: 'bob' });

    expect(pastEnd.code).toBe(1);
    expect(pastEnd.stderr).toContain('--page 999 is past the end: 37 runs');

    expect(showText.code, showText.stderr).toBe(0);
    expect(showText.stdout).toMatch(/^Task ID:\s+fail-1$/m);
    expect(showText.stdout).toMatch(/^Status:\s+FAILURE$/m);
    expect(showText.stdout).toMatch(/^Created by:\s+bob \(id u-abc\)$/m);
    expect(showText.stdout).toMatch(/Error:\n {4}card declined/);
    expect(showText.stdout).toMatch(/Traceback:\n {4}Error: card declined\n {8}at /);
    expect(JSON.parse(showJson.stdout)).toEqual(await rest(tasks, '/executions/by-task-id/fail-1/?sync=false'));

    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain('no run with task_id "no-such-run"');

    expect(statsText.code, statsText.stderr).toBe(0);
    expect(statsText.stdout).toMatch(/^All runs\s+37\s+0\s+5\s+31\s+1\s+0\s+0$/m);
    expect(statsText.stdout).toMatch(/^archive\s+31\s+0\s+1\s+30\s+0/m);
    expect(statsText.stdout).toMatch(/^TASK NAME\s+TOTAL/m);
    expect(JSON.parse(statsJson.stdout)).toEqual(await rest(tasks, '/executions/stats/?my_tasks=false&module=billing'));
  });

  it('mark-timeout marks only silent STARTED runs; cleanup deletes old finished runs in batches with progress', async () => {
    const [marked, cleaned] = await Promise.all([
      runCli(['mark-timeout', '--timeout-minutes', '30', '--json', ...db()]),
      runCli(['cleanup', '--retention-days', '7', '--batch-size', '10', ...db()]),
    ]);
    expect(marked.code, marked.stderr).toBe(0);
    expect(JSON.parse(marked.stdout)).toMatchObject({
      updated_count: 2,
      timeout_minutes: 30,
      synced_count: 0,
      synced_updated_count: 0,
    });
    for (const taskId of ['stale-1', 'stale-2']) {
      const run = await tasks!.tracker.getTask(taskId);
      expect(run).toMatchObject({ status: 'FAILURE' });
      expect(run!.error).toMatch(/^Task timeout \(exceeded 30 minutes, started before /);
    }
    expect((await tasks!.tracker.getTask('alive'))!.status).toBe('STARTED');
    expect((await tasks!.tracker.getTask('report-1'))!.status).toBe('STARTED');

    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toMatch(/^Deleted 30 finished runs created before \S+ \(retention 7 days\)\.$/m);
    // The deleted runs' aggregate rows went with the compaction that follows.
    expect(cleaned.stdout).toMatch(
      /^Compacted the stats aggregates: \d+ rows read, \d+ folded, [1-9]\d* removed \([\d.]+ s\)\.$/m,
    );
    // Not a terminal: a progress line (the first batch at once, then at most one a second), on stderr.
    expect(cleaned.stderr).toMatch(/^deleting old runs: 10 of ~30 \(33%\)$/m);
    expect(await tasks!.tracker.getTask('old-ok-0')).toBeNull();
    expect((await tasks!.tracker.getTask('old-running'))!.status).toBe('STARTED');

    const unfinished = await runCli(['cleanup', '--retention-days', '7', '--include-unfinished', '--json', ...db()]);
    expect(unfinished.code, unfinished.stderr).toBe(0);
    expect(JSON.parse(unfinished.stdout)).toMatchObject({
      deleted_count: 1,
      retention_days: 7,
      only_completed: false,
      aggregates_compacted: { scanned: expect.any(Number), removed: expect.any(Number), ms: expect.any(Number) },
    });
    expect(unfinished.stderr).toBe('');
    expect(await tasks!.tracker.getTask('old-running')).toBeNull();
  });
});
