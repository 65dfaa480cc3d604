/**
 * `agentcore-task import` as a subprocess: a file and standard input, the summary (text and --json), bad lines on
 * stderr with their line number and field, --strict, idempotence, exit codes. SQLite and PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import { useTestDatabase } from '../helpers/databases.js';
import { ROOT, runCli } from './cli.js';

const line = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    task_id: id,
    task_name: 'reports.build',
    module: 'reports',
    status: 'SUCCESS',
    created_at: '2026-04-01T10:00:00Z',
    started_at: '2026-04-01T10:00:01Z',
    finished_at: '2026-04-01T10:00:03.250Z',
    task_args: [1],
    task_kwargs: { a: 'b' },
    result: { rows: 3 },
    error: null,
    traceback: null,
    created_by_id: 7,
    created_by_username: 'ann',
    metadata: { tenant: 't1' },
    ...extra,
  });

/** Runs the CLI with `stdin` piped in. */
async function runWithStdin(args: string[], stdin: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(stdin);
  const [code] = await once(child, 'exit');
  return { code: code as number, stdout, stderr };
}

describe.each(['sqlite', 'postgres'] as DialectName[])('import command on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'act-import-'));
  let tasks: AgentcoreTask;
  const db = () => ['--database', database.url];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false, env: {} });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('imports a file, prints a summary, and is idempotent on a second run', async () => {
    const file = join(dir, `good-${dialect}.jsonl`);
    writeFileSync(file, `${Array.from({ length: 25 }, (_, i) => line(`cli-${i}`)).join('\n')}\n`);
    const first = await runCli(['import', file, '--batch-size', '10', ...db()]);
    expect(first.stderr).not.toMatch(/line \d+:/);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^Imported 25 runs, skipped 0 already stored, 0 bad lines \(25 lines in [\d.]+ s, \d+ rows\/s\)\.$/m,
    );
    const run = await tasks.tracker.getTask('cli-3');
    expect(run).toMatchObject({ status: 'SUCCESS', createdById: 7, createdByUsername: 'ann', result: { rows: 3 } });
    expect(run!.duration).toBe(2.25);

    const again = await runCli(['import', file, '--json', ...db()]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ lines: 25, inserted: 0, existing: 25, bad: 0, bad_lines: [] });
  });

  it('reads standard input with -, reports bad lines by number and field, exits 1', async () => {
    const input = [line('stdin-1'), '{oops', line('stdin-3', { status: 'LOST' }), line('stdin-4')].join('\n');
    const result = await runWithStdin(['import', '-', '--json', ...db()], input);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: line: not valid JSON/m);
    expect(result.stderr).toMatch(/^line 3: status: status must be one of/m);
    expect(JSON.parse(result.stdout)).toMatchObject({
      lines: 4,
      inserted: 2,
      bad: 2,
      bad_lines: [
        { line: 2, field: 'line' },
        { line: 3, field: 'status' },
      ],
    });
    expect(await tasks.tracker.getTask('stdin-4')).not.toBeNull();
  });

  it('with --strict stops at the first bad line', async () => {
    const file = join(dir, `strict-${dialect}.jsonl`);
    writeFileSync(file, [line('strict-a'), line('strict-b', { created_at: 'soon' }), line('strict-c')].join('\n'));
    const result = await runCli(['import', '--strict', file, ...db()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^line 2: created_at: /m);
    expect(result.stdout).toMatch(/Imported 1 runs, .* Stopped at line 2 \(--strict\)\./);
    expect(await tasks.tracker.getTask('strict-c')).toBeNull();
  });
});

describe('import command usage', () => {
  it('exits 2 without a file, with a missing file, or with a bad batch size', async () => {
    const [none, missing, batch] = await Promise.all([
      runCli(['import', '--database', 'sqlite::memory:']),
      runCli(['import', '/nonexistent/runs.jsonl', '--database', 'sqlite::memory:']),
      runCli(['import', '-', '--batch-size', '0', '--database', 'sqlite::memory:']),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give one FILE to import/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read \/nonexistent\/runs\.jsonl/);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/--batch-size must be an integer from 1 to 10000/);
  });
});
