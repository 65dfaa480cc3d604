/**
 * What the CLI says when something is wrong: bad flags name the flag (exit 2), an unreachable database names the URL
 * without its password (exit 1), a missing driver names the package to install, a missing SQLite file says to run
 * `migrate`. Every command has `--help`. Flag validation is checked in process (the command modules), the exit codes
 * and runtime errors as subprocesses.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, type Command, UsageError } from '../../src/cli/command.js';
import { readUsersFile } from '../../src/cli/users.js';
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
    // The top-level options are listed, and do what the help says.
    expect(top.stdout).toMatch(/^ {2}-h, --help +\S/m);
    expect(top.stdout).toMatch(/^ {2}-v, --version +\S/m);
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    for (const flag of ['--version', '-v']) {
      const run = await runCli([flag]);
      expect([run.code, run.stdout], flag).toEqual([0, `${version}\n`]);
    }
  });

  it('a bad --users file names the entry (counted from 1) and the field, never the token', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{ token: 'a', id: 1 }, ['users file must be a JSON array of users']],
      [
        [
          { token: 'a', id: 1 },
          { token: '', id: 2 },
        ],
        ['users file entry 2: "token" must be a non-empty string'],
      ],
      [[{ id: 1 }], ['users file entry 1: "token" must be a non-empty string']],
      [[{ token: 5, id: 1 }], ['users file entry 1: "token" must be a non-empty string']],
      [[{ token: 'a' }], ['users file entry 1: "id" must be a non-empty string or an integer']],
      [[{ token: 'a', id: 1.5 }], ['users file entry 1: "id" must be a non-empty string or an integer']],
      [[{ token: 'a', id: {} }], ['users file entry 1: "id" must be a non-empty string or an integer']],
      [[{ token: 'a', id: 1, username: 5 }], ['users file entry 1: "username" must be a string or null']],
      [[{ token: 'a', id: 1, is_admin: 'yes' }], ['users file entry 1: "is_admin" must be true or false']],
      [[{ token: 'a', id: 1 }, 'alice'], ['users file entry 2: must be an object like']],
      [
        [
          { token: 's3cret-token', id: 1 },
          { token: 'b', id: 2 },
          { token: 's3cret-token', id: 3 },
        ],
        [`users file entry 3: "token" is the same as entry 1's`],
      ],
      [
        [{}, { token: 'b', id: 2, is_admin: 1 }],
        [
          'users file entry 1: "token" must be a non-empty string',
          'users file entry 1: "id" must be a non-empty string or an integer',
          'users file entry 2: "is_admin" must be true or false',
        ],
      ],
    ];
    for (const [i, [content, expected]] of cases.entries()) {
      const file = join(dir, `users-${i}.json`);
      writeFileSync(file, JSON.stringify(content));
      const error = await readUsersFile(file).catch((e: unknown) => e);
      expect(error, JSON.stringify(content)).toBeInstanceOf(UsageError);
      const lines = (error as Error).message.split('\n');
      expect(lines[0]).toBe(`invalid --users file ${file}:`);
      for (const [n, line] of expected.entries()) expect(lines[n + 1], JSON.stringify(content)).toContain(line);
      expect(lines).toHaveLength(expected.length + 1);
      expect((error as Error).message).not.toContain('s3cret-token');
      expect((error as Error).message).not.toMatch(/Invalid input/);
    }
    // A valid file passes, and a long list of problems is cut after five.
    const good = join(dir, 'users-good.json');
    writeFileSync(
      good,
      JSON.stringify([
        { token: 'a', id: 1, username: null, is_admin: true },
        { token: 'b', id: 'u2' },
      ]),
    );
    expect(await readUsersFile(good)).toHaveLength(2);
    const many = join(dir, 'users-many.json');
    writeFileSync(many, JSON.stringify(Array.from({ length: 8 }, () => 1)));
    const manyLines = ((await readUsersFile(many).catch((e: Error) => e)) as Error).message.split('\n');
    expect(manyLines).toHaveLength(7);
    expect(manyLines[6]).toBe('… and 3 more');

    // Through the binary: exit 2 before anything starts, the problem on stderr.
    const bad = join(dir, 'users-bad.json');
    writeFileSync(
      bad,
      JSON.stringify([
        { token: 'a', id: 1 },
        { token: '', id: 2 },
      ]),
    );
    const run = await runCli(['serve', '--users', bad, '--database', 'sqlite::memory:', '--port', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `agentcore-task serve: invalid --users file ${bad}:\nusers file entry 2: "token" must be a non-empty string\n`,
    );
    expect(run.stdout).toBe('');
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
