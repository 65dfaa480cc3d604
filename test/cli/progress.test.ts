/**
 * The CLI's progress display: a bar with the time left on a terminal, coloured only when colour is welcome (a
 * terminal, `NO_COLOR` unset), plain lines elsewhere. The rules are checked in process with a fake clock; the colour
 * through a real pseudo-terminal (`script`) around `agentcore-task cleanup`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEta, Progress, useColor } from '../../src/cli/format.js';
import { createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { ROOT } from './cli.js';

const ESC = '\x1b[';

function recorder(isTTY: boolean, color?: boolean) {
  const out: string[] = [];
  let t = 1_000_000;
  const clock = {
    out,
    sink: { write: (text: string) => out.push(text), isTTY, color },
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
  return clock;
}

describe('progress display', () => {
  it('colour only on a terminal, never with NO_COLOR, TERM=dumb off, FORCE_COLOR on', () => {
    expect(useColor({}, true)).toBe(true);
    expect(useColor({}, false)).toBe(false);
    expect(useColor({ NO_COLOR: '1' }, true)).toBe(false);
    // no-color.org: an empty NO_COLOR does not count.
    expect(useColor({ NO_COLOR: '' }, true)).toBe(true);
    expect(useColor({ TERM: 'dumb' }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(useColor({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(useColor({ FORCE_COLOR: '1', NO_COLOR: '1' }, true)).toBe(false);
  });

  it('the terminal bar shows the time left at the average rate, then nothing to estimate once done', () => {
    const r = recorder(true, false);
    const progress = new Progress(r.sink, 'deleting old runs', 100, { now: r.now });
    progress.update(10); // at once: too early for an estimate
    r.advance(2_000);
    progress.update(20); // 20 in 2 s → 80 left at 10/s
    r.advance(2_000);
    progress.update(40); // 40 in 4 s → 60 left at 10/s
    r.advance(6_000);
    progress.update(100);
    progress.done();
    expect(r.out).toEqual([
      '\rdeleting old runs [###---------------------------] 10% 10/100',
      '\rdeleting old runs [######------------------------] 20% 20/100 ETA 8s',
      '\rdeleting old runs [############------------------] 40% 40/100 ETA 6s',
      // Blanks over the longer previous line's " ETA 6s".
      `\rdeleting old runs [##############################] 100% 100/100${' '.repeat(5)}`,
      '\n',
    ]);
    expect(r.out.join('')).not.toContain(ESC);
  });

  it('coloured bar: the done part green, the rest dim, the numbers plain', () => {
    const r = recorder(true, true);
    new Progress(r.sink, 'deleting', 10, { now: r.now }).update(5);
    expect(r.out).toEqual([
      `\rdeleting [${ESC}32m${'#'.repeat(15)}${ESC}0m${ESC}2m${'-'.repeat(15)}${ESC}0m] 50% 5/10`,
    ]);
  });

  it('off a terminal: the first line at once, then at most one a second, with the time left and no colour', () => {
    const r = recorder(false, true);
    const progress = new Progress(r.sink, 'deleting old runs', 3000, { now: r.now });
    progress.update(100);
    r.advance(400);
    progress.update(200); // within the second: not printed
    r.advance(600);
    progress.update(300); // 300 in 1 s → 2700 left at 300/s = 9 s
    r.advance(59_000);
    progress.update(1000); // 1000 in 60 s → 2000 left = 120 s
    progress.done();
    expect(r.out).toEqual([
      'deleting old runs: 100 of ~3000 (3%)\n',
      'deleting old runs: 300 of ~3000 (10%), about 9s left\n',
      'deleting old runs: 1000 of ~3000 (33%), about 2m 00s left\n',
    ]);
  });

  it('estimates round up and never say 0s while work remains', () => {
    expect(formatEta(0.01)).toBe('1s');
    expect(formatEta(8.2)).toBe('9s');
    expect(formatEta(59.5)).toBe('1m 00s');
    expect(formatEta(7_380)).toBe('2h 03m');
  });
});

describe('progress through a terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'act-progress-'));
  const database = `sqlite:${join(dir, 'tasks.db')}`;
  const DAY = 86_400_000;

  /** 30 finished runs, 20 days old, for `cleanup --retention-days 7` to delete. */
  async function seedOldRuns() {
    const tasks = await createAgentcoreTask({ database, logger: silentLogger, env: {} });
    try {
      const old = tasks.dialect.toDbDate(new Date(Date.now() - 20 * DAY));
      for (let i = 0; i < 30; i++) {
        await tasks.tracker.registerTaskExecution({ taskId: `old-${i}`, taskName: 'archive.compact', module: 'a' });
        await tasks.tracker.updateTaskStatus(`old-${i}`, TaskStatus.SUCCESS);
      }
      await tasks.tracker.flush();
      await tasks.db.updateTable('agentcore_task_execution').set({ created_at: old, updated_at: old }).execute();
    } finally {
      await tasks.close();
    }
  }

  beforeAll(seedOldRuns, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `agentcore-task cleanup` with a pseudo-terminal as its stdout and stderr (util-linux `script`). */
  async function cleanupOnTerminal(extraEnv: Record<string, string>) {
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'cleanup', '--retention-days', '7']
      .concat(['--batch-size', '10', '--database', database])
      .map(quote)
      .join(' ');
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: '', REDIS_URL: '', TERM: 'xterm', ...extraEnv };
    delete env.FORCE_COLOR;
    if (!('NO_COLOR' in extraEnv)) delete env.NO_COLOR;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const [code] = await once(child, 'exit');
    return { code: code as number, out };
  }

  it('draws a coloured bar, and a plain one with NO_COLOR', async () => {
    const coloured = await cleanupOnTerminal({});
    expect(coloured.code, coloured.out).toBe(0);
    expect(coloured.out).toContain(`deleting old runs [${ESC}32m###`);
    expect(coloured.out).toContain(`#${ESC}0m`);
    expect(coloured.out).toMatch(/Deleted 30 finished runs/);

    await seedOldRuns();
    const plain = await cleanupOnTerminal({ NO_COLOR: '1' });
    expect(plain.code, plain.out).toBe(0);
    expect(plain.out).toMatch(/\rdeleting old runs \[#+-*\] \d+% \d+\/30/);
    expect(plain.out).toMatch(/Deleted 30 finished runs/);
    expect(plain.out).not.toContain(ESC);
  }, 60_000);
});
