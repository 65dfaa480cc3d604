/**
 * `agentcore-task serve` as a subprocess (pg-boss style): a users file, bearer tokens, a free loopback port on SQLite,
 * then SIGTERM → exit 0; and the exit codes of bad usage and of a failed start.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestDatabase } from '../helpers/databases.js';
import { cli, freePort, waitFor } from './cli.js';

const USERS = [
  { token: 'alice-secret-token', id: 1, username: 'alice' },
  { token: 'root-secret-token', id: 99, username: 'root', is_admin: true },
];

describe('agentcore-task serve', () => {
  let dir: string;
  let usersFile: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'act-serve-'));
    usersFile = join(dir, 'users.json');
    writeFileSync(usersFile, JSON.stringify(USERS));
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['sqlite', 'postgres'] as const)(
    'serves the API with bearer tokens on %s, and exits 0 on SIGTERM',
    async (dialect) => {
      const port = await freePort();
      const pg = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
      onTestFinished(() => pg?.drop());
      const database = pg ? pg.url : `sqlite:${join(dir, 'serve.db')}`;
      const run = cli(['serve', '--database', database, '--port', String(port), '--users', usersFile]);
      children.push(run.child);
      await waitFor(() => run.out.stdout.includes('listening on'), `"listening on" (stderr: ${run.out.stderr})`);
      const base = `http://127.0.0.1:${port}/api/v1/tasks`;
      expect(run.out.stdout).toContain(`${base}/`);

      expect((await fetch(`${base}/executions/`)).status).toBe(401);
      expect((await fetch(`${base}/executions/`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(
        401,
      );
      const alice = { authorization: `Bearer ${USERS[0].token}` };
      const root = { authorization: `Bearer ${USERS[1].token}` };
      const list = await fetch(`${base}/executions`, { headers: alice });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual({ count: 0, next: null, previous: null, results: [] });
      expect((await fetch(`${base}/executions/?my_tasks=false`, { headers: alice })).status).toBe(403);
      expect((await fetch(`${base}/executions/?my_tasks=false`, { headers: root })).status).toBe(200);
      const patch = (headers: Record<string, string>) =>
        fetch(`${base}/config/`, {
          method: 'PATCH',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{"retention_days": 9}',
        });
      expect((await patch(alice)).status).toBe(403);
      expect(await (await patch(root)).json()).toMatchObject({ retention_days: 9 });
      const doc = await (await fetch(`${base}/openapi.json`, { headers: alice })).json();
      expect(doc.servers).toEqual([{ url: base }]);

      // An open stream does not hold the shutdown up: it is ended, and the process exits 0 well within the grace period.
      const stream = await fetch(`${base}/executions/stream/`, { headers: alice });
      expect(stream.status).toBe(200);
      const reading = stream.text().then(
        () => 'ended',
        () => 'ended',
      );
      const stopping = Date.now();
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(await reading).toBe('ended');
      expect(Date.now() - stopping).toBeLessThan(4_000);
      expect(run.out.stderr).toContain('stopped');
    },
  );

  it('--help exits 0; bad usage and a bad users file exit 2', async () => {
    const help = cli(['serve', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.out.stdout).toContain('--users FILE');
    const top = cli(['--help']);
    expect(await top.exited).toBe(0);
    expect(top.out.stdout).toContain('serve');

    const badFile = join(dir, 'bad-users.json');
    writeFileSync(
      badFile,
      JSON.stringify([
        { token: 'x-token', id: 1 },
        { token: 'x-token', id: 2 },
      ]),
    );
    const cases = [
      ['serve', '--port', 'http'],
      ['serve', '--bogus'],
      ['serve', '--users', badFile],
      ['serve', '--users', join(dir, 'missing.json')],
      ['nope'],
      [],
    ];
    const runs = cases.map((args) => ({ args, run: cli(args) }));
    for (const { args, run } of runs) {
      expect(await run.exited, args.join(' ')).toBe(2);
      expect(run.out.stderr.length, args.join(' ')).toBeGreaterThan(0);
    }
  });

  it('exits 1 when it cannot start (port in use), and leaves nothing running', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    try {
      const run = cli([
        'serve',
        '--database',
        `sqlite:${join(dir, 'busy.db')}`,
        '--port',
        String(port),
        '--users',
        usersFile,
      ]);
      children.push(run.child);
      expect(await run.exited).toBe(1);
      expect(run.out.stderr).toMatch(/EADDRINUSE|address already in use/i);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
