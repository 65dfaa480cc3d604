/**
 * `agentcore-task serve --demo` as a newcomer runs it (`npm run demo`): it listens, prints tokens and the dashboard URL,
 * the list shows demo runs in several statuses (a failure with a stack trace, a duplicate skipped by the lock, a dead
 * run marked by the timeout job), users see only their own runs, and SIGINT stops it with exit code 0 and no run left
 * unfinished. Once through the plain tracker API, once through BullMQ (whose demo queues are removed on exit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { REDIS_URL } from '../helpers/env.js';
import { type CliRun, cli, freePort, waitFor } from './cli.js';

interface Item {
  task_id: string;
  task_name: string;
  module: string;
  status: string;
  created_by_id: number | null;
  metadata: Record<string, unknown>;
}

describe('serve --demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'act-demo-'));
  const runs: CliRun[] = [];
  afterAll(() => {
    for (const run of runs) if (run.child.exitCode === null) run.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function demo(name: string, extra: string[]) {
    const port = await freePort();
    const database = `sqlite:${join(dir, `${name}.db`)}`;
    const run = cli(['serve', '--demo', '--port', String(port), '--database', database, ...extra]);
    runs.push(run);
    await waitFor(
      () => run.out.stdout.includes('Press Ctrl-C to stop.'),
      `the demo banner (stderr: ${run.out.stderr})`,
    );
    const base = `http://127.0.0.1:${port}/api/v1/tasks`;
    const token = (user: string) => {
      const match = new RegExp(`^ {4}${user} .* (demo-${user}-[0-9a-f]+)$`, 'm').exec(run.out.stdout);
      expect(match, `token of ${user} in:\n${run.out.stdout}`).not.toBeNull();
      return match![1];
    };
    const tokens = { alice: token('alice'), bob: token('bob'), admin: token('admin') };
    expect(run.out.stdout).toContain(`Dashboard   ${base}/dashboard/`);
    expect(run.out.stdout).toContain(`curl -H "Authorization: Bearer ${tokens.admin}" "${base}/executions/`);
    const get = async (path: string, who: keyof typeof tokens) => {
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${tokens[who]}` } });
      expect(response.status, path).toBe(200);
      return response.json();
    };
    return { run, base, tokens, get, database };
  }

  /** Waits until the admin's list shows every kind of demo run, then checks them. */
  async function checkRuns(get: (path: string, who: 'alice' | 'bob' | 'admin') => Promise<any>) {
    let items: Item[] = [];
    const seen = () => new Set(items.map((r) => r.status));
    await waitFor(
      async () => {
        items = (await get('/executions/?my_tasks=false&page_size=100', 'admin')).results;
        const s = seen();
        const skipped = items.some((r) => r.metadata.skipped === true);
        const timedOut = items.some((r) => r.task_name === 'reports.export_archive' && r.status === 'FAILURE');
        const progress = items.some((r) => r.status === 'STARTED' && typeof r.metadata.progress_percent === 'number');
        return s.has('SUCCESS') && s.has('FAILURE') && s.has('STARTED') && skipped && timedOut && progress;
      },
      `demo runs in several statuses (seen ${[...seen()].join(', ')})`,
      25_000,
    );
    // A failure carries a real stack trace from the task's code.
    const failed = items.find((r) => r.task_name === 'billing.charge_invoice' && r.status === 'FAILURE')!;
    const detail = await get(`/executions/by-task-id/${failed.task_id}/?sync=false`, 'admin');
    expect(detail.error).toMatch(/^Card declined by the issuer for invoice INV-\d+/);
    expect(detail.traceback).toMatch(/^PaymentDeclinedError: Card declined[\s\S]*\n +at chargeCard \(/);
    // The duplicate skipped by the lock: SUCCESS with the skip payload as its result.
    const skipped = items.find((r) => r.metadata.skipped === true)!;
    const skippedDetail = await get(`/executions/by-task-id/${skipped.task_id}/?sync=false`, 'admin');
    expect(skippedDetail).toMatchObject({
      status: 'SUCCESS',
      result: { success: false, status: 'skipped', reason: 'task_already_running' },
    });
    // The dead run, marked by the timeout job (which records itself).
    const dead = items.find((r) => r.task_name === 'reports.export_archive' && r.status === 'FAILURE')!;
    expect((await get(`/executions/by-task-id/${dead.task_id}/?sync=false`, 'admin')).error).toMatch(
      /^Task timeout \(exceeded 5 minutes/,
    );
    expect(items.some((r) => r.task_name === 'mark_timed_out_task_executions' && r.status === 'SUCCESS')).toBe(true);
    // Scoping: alice sees only her runs.
    const mine: Item[] = (await get('/executions/?page_size=100', 'alice')).results;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.created_by_id === 1)).toBe(true);
  }

  /** After exit: every run is finished (queued and interrupted ones were revoked). */
  async function expectNothingUnfinished(database: string, queue?: string) {
    const tasks = await createAgentcoreTask({ database, logger: silentLogger, realtime: false });
    try {
      if (queue) {
        // Dispatched to the demo queue (the run records it).
        const { results } = await tasks.tracker.listTaskExecutions({ module: 'billing' }, { pageSize: 100 });
        expect(results.some((r) => r.queueName === queue)).toBe(true);
      }
      const stats = await tasks.tracker.getTaskStats();
      expect(stats.total).toBeGreaterThan(80);
      expect({ pending: stats.pending, started: stats.started, retry: stats.retry }).toEqual({
        pending: 0,
        started: 0,
        retry: 0,
      });
    } finally {
      await tasks.close();
    }
  }

  it('through the plain tracker API: tokens, live runs in several statuses, SIGINT exits 0', async () => {
    const { run, get, database } = await demo('plain', []);
    expect(run.out.stdout).toContain('(plain tracker API)');
    await checkRuns(get);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out.stderr).toContain('stopped');
    await expectNothingUnfinished(database);
  });

  it('through BullMQ with --redis: dispatched and tracked runs, demo queues removed on SIGINT', async () => {
    const { run, get, database } = await demo('bullmq', ['--redis', REDIS_URL]);
    const queue = /BullMQ queue (agentcore-task-demo-[0-9a-f]+)/.exec(run.out.stdout)?.[1];
    expect(queue).toBeDefined();
    await checkRuns(get);
    const redis = new Redis(REDIS_URL);
    try {
      expect((await redis.keys(`bull:${queue}:*`)).length).toBeGreaterThan(0);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(await redis.keys(`bull:${queue}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    await expectNothingUnfinished(database, queue);
  });
});
