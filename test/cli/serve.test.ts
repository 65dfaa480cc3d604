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
import { SseReader } from '../helpers/sse.js';
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
      // One process: the cluster (--workers, default the number of cores) has a test of its own below.
      const run = cli([
        'serve',
        '--database',
        database,
        '--port',
        String(port),
        '--users',
        usersFile,
        '--workers',
        '1',
      ]);
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

  it('reloads the users file on SIGHUP (a token left out is refused, a bad file keeps the users); metrics token, health', async () => {
    const port = await freePort();
    const file = join(dir, 'reload-users.json');
    writeFileSync(file, JSON.stringify(USERS));
    const run = cli(
      [
        'serve',
        '--database',
        `sqlite:${join(dir, 'reload.db')}`,
        '--port',
        String(port),
        '--users',
        file,
        '--workers',
        '2',
      ],
      { AGENTCORE_TASK_METRICS_TOKEN: 'scrape-from-env' },
    );
    children.push(run.child);
    await waitFor(() => run.out.stdout.includes('listening on'), `"listening on" (stderr: ${run.out.stderr})`);
    // SQLite has no cross-process change feed: one worker, said so.
    expect(run.out.stderr).toMatch(/--workers 2 needs PostgreSQL or --redis/);
    const base = `http://127.0.0.1:${port}/api/v1/tasks`;
    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    expect((await fetch(`${base}/executions/`, as(USERS[0].token))).status).toBe(200);
    expect((await fetch(`${base}/metrics`, as('scrape-from-env'))).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ok', checks: { database: 'ok' } });

    writeFileSync(file, JSON.stringify([USERS[1], { token: 'carol-new-token', id: 3, username: 'carol' }]));
    run.child.kill('SIGHUP');
    await waitFor(() => run.out.stderr.includes('reloaded'), `"reloaded" (stderr: ${run.out.stderr})`);
    expect((await fetch(`${base}/executions/`, as(USERS[0].token))).status).toBe(401);
    expect((await fetch(`${base}/executions/`, as('carol-new-token'))).status).toBe(200);

    writeFileSync(file, '[{"token": ""}]');
    run.child.kill('SIGHUP');
    await waitFor(() => run.out.stderr.includes('kept the previous users'), `"kept" (stderr: ${run.out.stderr})`);
    expect(run.out.stderr).toContain('users file entry 1');
    expect((await fetch(`${base}/executions/`, as('carol-new-token'))).status).toBe(200);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('--workers 2 on PostgreSQL: two processes on one port, streams fed across processes, SIGHUP and SIGTERM reach all', async () => {
    const port = await freePort();
    const pg = await createTestDatabase('postgres');
    onTestFinished(() => pg.drop());
    const file = join(dir, 'cluster-users.json');
    writeFileSync(file, JSON.stringify(USERS));
    const run = cli([
      'serve',
      '--database',
      pg.url,
      '--port',
      String(port),
      '--users',
      file,
      '--workers',
      '2',
      '--metrics-token',
      'scrape-flag',
    ]);
    children.push(run.child);
    await waitFor(() => run.out.stdout.includes('listening on'), `"listening on" (stderr: ${run.out.stderr})`, 30_000);
    expect(run.out.stdout).toContain('2 workers');
    const base = `http://127.0.0.1:${port}/api/v1/tasks`;
    const root = { authorization: `Bearer ${USERS[1].token}` };
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer scrape-flag' } })).status).toBe(200);

    // Several streams: new connections are spread over the workers; each must see a change written elsewhere.
    const readers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await fetch(`${base}/executions/stream/?my_tasks=false`, { headers: root });
        expect(response.status).toBe(200);
        return new SseReader(response);
      }),
    );
    const { createAgentcoreTask, silentLogger } = await import('../../src/index.js');
    const writer = await createAgentcoreTask({ database: pg.url, logger: silentLogger, migrate: false });
    try {
      await writer.registerTaskExecution({ taskId: 'cluster-run', taskName: 't', module: 'm', createdBy: { id: 1 } });
      for (const r of readers) await r.until(() => r.items.some((i) => i.task_id === 'cluster-run'), 5000, 'the run');
    } finally {
      await writer.close();
    }

    writeFileSync(file, JSON.stringify([USERS[1]]));
    run.child.kill('SIGHUP');
    await waitFor(() => (run.out.stderr.match(/reloaded/g) ?? []).length >= 2, `two reloads (${run.out.stderr})`);
    for (let i = 0; i < 6; i++)
      expect(
        (await fetch(`${base}/executions/`, { headers: { authorization: `Bearer ${USERS[0].token}` } })).status,
      ).toBe(401);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    for (const r of readers) await r.until(() => r.ended, 5000, 'the end of the stream');
    expect(run.out.stderr).toContain('stopped');
  }, 60_000);
});
