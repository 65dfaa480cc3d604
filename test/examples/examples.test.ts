import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../helpers/env.js';

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'act-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `npx tsx <file>` with a fresh SQLite database; resolves with the process and its output so far. */
function run(file: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite:${join(dir, `${Date.now()}-${Math.random()}.db`)}`,
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '' };
  child.stdout.on('data', (d) => {
    out.text += d;
  });
  child.stderr.on('data', (d) => {
    out.text += d;
  });
  return { child, out };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function waitFor(out: { text: string }, pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = out.text.match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${out.text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('README code examples', () => {
  it('every README example block is the file in examples/, verbatim', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example: (examples\/[\w.-]+) -->\s*```ts\n([\s\S]*?)```/g)];
    const shown = blocks.map((b) => b[1]);
    for (const [, file, code] of blocks) expect(code, file).toBe(readFileSync(join(root, file), 'utf8'));
    // Every example file is shown in the README, so none can drift unseen.
    const files = readdirSync(join(root, 'examples'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `examples/${f}`);
    expect(shown.sort()).toEqual(files.sort());
  });

  it('examples/basic.ts records runs and prints them', async () => {
    const { child, out } = run('examples/basic.ts');
    expect(await exited(child)).toBe(0);
    expect(out.text).toContain('reports.build_monthly');
    expect(out.text).toContain('supplier API returned 502');
    expect(out.text).toMatch(/total 2: 1 succeeded, 1 failed/);
  });

  it('examples/bullmq.ts dispatches, processes with tracked, and schedules maintenance', async () => {
    const queueName = `example-${Date.now()}`;
    const { child, out } = run('examples/bullmq.ts', { REDIS_URL, QUEUE_NAME: queueName });
    try {
      expect(await exited(child), out.text).toBe(0);
      expect(out.text).toContain('SUCCESS { rows: 42 } 80');
    } finally {
      const { Queue } = await import('bullmq');
      const queue = new Queue(queueName, { connection: { url: REDIS_URL } });
      await queue.obliterate({ force: true });
      await queue.close();
      const maintenance = new Queue('agentcore-task-maintenance', { connection: { url: REDIS_URL } });
      await maintenance.removeJobScheduler('agentcore-task-cleanup-old-executions');
      await maintenance.removeJobScheduler('agentcore-task-mark-timed-out-executions');
      await maintenance.close();
    }
  });

  it('examples/lock.ts runs one call per user and skips the duplicate with the exact payload', async () => {
    const { child, out } = run('examples/lock.ts');
    expect(await exited(child), out.text).toBe(0);
    expect(out.text).toContain("reason: 'task_already_running'");
    expect(out.text).toContain("error: 'Task send_digest_42 is already running'");
    expect(out.text).toContain('{ success: true, userId: 7 }');
    expect(out.text).toContain('locked: true');
  });

  it('examples/maintenance.ts runs both jobs and the scheduler, and exits', async () => {
    const { child, out } = run('examples/maintenance.ts');
    expect(await exited(child), out.text).toBe(0);
    expect(out.text).toContain('retention_days: 30');
    expect(out.text).toContain('timeout_minutes: 10');
    expect(out.text).toContain("id: 'agentcore-task-cleanup-old-executions'");
  });

  for (const file of ['examples/express.ts', 'examples/fastify.ts', 'examples/web-handler.ts']) {
    it(`${file} serves the API with the host's authentication and stops on SIGTERM`, async () => {
      const { child, out } = run(file);
      try {
        const [, base] = await waitFor(out, /listening on (http:\/\/\S+)\/dashboard\//);
        const anonymous = await fetch(`${base}/executions/`);
        expect(anonymous.status).toBe(401);
        const list = await fetch(`${base}/executions/`, { headers: { authorization: 'Bearer alice-token' } });
        expect(list.status).toBe(200);
        const body = (await list.json()) as { count: number; results: Array<{ task_name: string }> };
        expect(body.count).toBe(1);
        expect(body.results[0].task_name).toBe('examples.welcome');
        const all = await fetch(`${base}/executions/?my_tasks=false`, {
          headers: { authorization: 'Bearer admin-token' },
        });
        expect(all.status).toBe(200);
        const dashboard = await fetch(`${base}/dashboard/`);
        expect(dashboard.status).toBe(200);
        expect(await dashboard.text()).toContain('<html');
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited(child)).toBe(0);
    });
  }
});
