/**
 * The dashboard's run detail reads stored log levels of any age: Python names written now (`INFO`, `WARNING`, …) and
 * the lower-case names rows of earlier releases hold (`info`, `error`) show and are styled the same. Headless Chromium
 * against a real server, as test/dashboard/browser.test.ts does.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskLogCollector } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PREFIX = '/api/v1/tasks';
/** Signed in by a host session cookie, so the test does not depend on the sign-in form's wording. */
const getUser = (request: Request) =>
  /(?:^|;\s*)session=alice(?:;|$)/.test(request.headers.get('cookie') ?? '') ? { id: 1, username: 'alice' } : null;

describe('dashboard detail reads old and new log levels', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    const handler = createHandler(tasks, { getUser, prefix: PREFIX });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: handler, hostname: '127.0.0.1', port: 0 }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await tasks?.close();
  });

  it('shows every level upper-case and styles lower-case rows as the upper-case ones', async () => {
    // A row as an earlier release wrote it: lower-case levels.
    const old = [
      { level: 'info', message: 'old info', timestamp: '2026-01-01T00:00:00.000Z' },
      { level: 'warning', message: 'old warning', timestamp: '2026-01-01T00:00:01.000Z' },
      { level: 'error', message: 'old error', timestamp: '2026-01-01T00:00:02.000Z' },
    ];
    const run = await tasks.registerTaskExecution({
      taskId: 'parity-log-levels',
      taskName: 'parity.logs',
      module: 'parity',
      createdBy: { id: 1, username: 'alice' },
      initialStatus: 'STARTED',
      metadata: { logs: old },
    });
    // New entries appended after them, as this release writes them.
    const logs = new TaskLogCollector();
    for (const entry of old) logs.info(`kept: ${entry.message}`);
    logs.warning('new warning');
    logs.error('new error');
    logs.critical('new critical');
    const stored = [...old, ...logs.getLogs()];
    await tasks.tracker.reportProgress('parity-log-levels', { logs: stored });

    const context = await browser.newContext();
    await context.addCookies([{ name: 'session', value: 'alice', url: base }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}${PREFIX}/dashboard/#/runs/${run!.id}`);
    const rows = page.locator('table.logs tbody tr');
    await rows.nth(stored.length - 1).waitFor();
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => [tr.className, tr.querySelector('.level')?.textContent ?? '']),
    );
    expect(shown).toEqual([
      ['log-info', 'INFO'],
      ['log-warning', 'WARNING'],
      ['log-error', 'ERROR'],
      ['log-info', 'INFO'],
      ['log-info', 'INFO'],
      ['log-info', 'INFO'],
      ['log-warning', 'WARNING'],
      ['log-error', 'ERROR'],
      ['log-critical', 'CRITICAL'],
    ]);
    // Old and new rows of one level look the same (the stylesheet keys on the lower-case class).
    const colour = (i: number) =>
      rows
        .nth(i)
        .locator('.level')
        .evaluate((el) => getComputedStyle(el).color);
    expect(await colour(2)).toBe(await colour(7));
    expect(await colour(1)).toBe(await colour(6));
    expect(await colour(2)).not.toBe(await colour(0));
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
