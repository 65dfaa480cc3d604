/**
 * What the CLI says when something is wrong: bad flags name the flag (exit 2), an unreachable database names the URL
 * without its password (exit 1), a missing driver names the package to install, a missing SQLite file says to run
 * `migrate`. Every command has `--help`. Flag validation is checked in process (the command modules), the exit codes
 * and runtime errors as subprocesses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, type Command, UsageError } from '../../src/cli/command.js';
import { runCli } from './cli.js';

const COMMANDS = ['serve', 'migrate', 'list', 'show', 'stats', 'cleanup', 'mark-timeout', 'worker'] as const;

async function load(name: string): Promise<Command> {
  return (await import(`../../src/cli/commands/${name}.ts`)).default as Command;
}

function io(): CliIo & { out: string } {
  const sink = {
    out: '',
    stdout: (text: string) => {
      sink.out += text;
    },
    stderr: () => {},
    env: {},
  };
  return sink;
}

describe('CLI errors and help', () => {
  const dir = mkdtempSync(join(tmpdir(), 'act-cli-errors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every command has --help (exit 0) and the top-level help lists them all', async () => {
    for (const name of COMMANDS) {
      const sink = io();
      expect(await (await load(name)).run(['--help'], sink), name).toBe(0);
      expect(sink.out, name).toMatch(new RegExp(`^Usage: agentcore-task ${name}`));
      expect(sink.out, name).toMatch(/Exit codes: 0 /);
    }
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const name of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('a bad flag value is a usage error naming the flag, before any database is opened', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['list', ['--status', 'bogus'], /^--status: status must be one of PENDING/],
      ['list', ['--start-date', '2024-02-30'], /^--start-date: start_date is not a valid date/],
      ['list', ['--page-size', 'ten'], /^--page-size: page_size must be a positive integer/],
      ['list', ['--ordering', 'size'], /^--ordering: ordering must be one of/],
      ['list', ['--metadata', 'novalue'], /^--metadata must be KEY=VALUE/],
      ['list', ['--metadata', 'bad-key=1'], /^--metadata: metadata filter key must match/],
      ['stats', ['--granularity', 'week'], /^--granularity: granularity must be one of day, month, year/],
      ['stats', ['--end-date', 'yesterday'], /^--end-date: end_date must be an ISO date/],
      ['show', [], /^missing <task_id>/],
      ['show', ['a', 'b'], /^unexpected argument "b"/],
      ['cleanup', ['--batch-size', '0'], /^--batch-size must be an integer from 1 to 30000/],
      ['cleanup', ['--retention-days', '0'], /^--retention-days must be an integer from 1/],
      ['mark-timeout', ['--timeout-minutes', 'x'], /^--timeout-minutes must be an integer from 1/],
      ['mark-timeout', ['--redis', 'http://x'], /^--redis must be a redis:\/\/ or rediss:\/\/ URL/],
      ['migrate', ['--database', 'redis://localhost'], /^--database: unsupported database URL/],
      ['migrate', ['--bogus'], /Unknown option '--bogus'/],
      ['serve', ['--demo', '--users', 'users.json'], /^--demo creates its own users/],
    ];
    for (const [name, args, message] of cases) {
      const run = (await load(name)).run(args, io());
      await expect(run, `${name} ${args.join(' ')}`).rejects.toBeInstanceOf(UsageError);
      await expect(run, `${name} ${args.join(' ')}`).rejects.toThrow(message);
    }
    // Through the binary: exit 2, the flag named, a pointer to --help.
    const bad = await runCli(['list', '--status', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('agentcore-task list: --status: status must be one of');
    expect(bad.stderr).toContain('Run "agentcore-task list --help" for usage.');
    expect(bad.stdout).toBe('');
  });

  it('unreachable database or Redis, missing driver, missing SQLite file: exit 1 with what to do', async () => {
    const missingFile = join(dir, 'nothing-here.db');
    const [unreachable, noDriver, noFile, noRedis] = await Promise.all([
      runCli(['stats', '--database', 'postgres://app:s3cret-pw@127.0.0.1:1/app']),
      runCli(['list', '--database', 'postgres://postgres@127.0.0.1:5432/postgres'], {}, [
        './test/cli/fixtures/hide-pg.mjs',
      ]),
      runCli(['show', 'x', '--database', `sqlite:${missingFile}`]),
      runCli(['mark-timeout', '--redis', 'redis://:r3dis-pw@127.0.0.1:1', '--database', 'sqlite::memory:']),
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach the database at postgres://app:***@127.0.0.1:1/app');
    expect(unreachable.stderr).toContain('is it running');
    expect(unreachable.stderr).not.toContain('s3cret-pw');

    expect(noDriver.code).toBe(1);
    expect(noDriver.stderr).toContain('needs the "pg" package: run `npm install pg`');

    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain(`no SQLite database at ${missingFile}`);
    expect(noFile.stderr).toContain(`agentcore-task migrate --database sqlite:${missingFile}`);

    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toContain('cannot reach Redis at redis://:***@127.0.0.1:1 (connect ECONNREFUSED');
    expect(noRedis.stderr).not.toContain('r3dis-pw');
  });
});
