/**
 * Retry and Cancel on the run page in headless Chromium (Debian's `chromium` through playwright-core), on real BullMQ:
 * shown to admins only when the instance has a queue source, keyboard reachable, each behind a modal dialog that
 * Escape dismisses (nothing changes then), and the run updating live after the action.
 * `DASHBOARD_SCREENSHOTS=1` writes docs/images/dashboard-actions.png.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { dispatch, tracked } from '../../src/queue/bullmq/index.js';
import { connection, defaultSyncOptions, useQueues, Worker, waitFor } from '../bullmq/helpers.js';
import { useTestDatabase } from '../helpers/databases.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PREFIX = '/api/v1/tasks';
const USERS: Record<string, { id: number; username: string; isAdmin?: boolean }> = {
  'alice-token': { id: 1, username: 'alice' },
  'admin-token': { id: 99, username: 'root', isAdmin: true },
};
const getUser = (request: Request) =>
  USERS[/^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? ''] ?? null;
const shots =
  process.env.DASHBOARD_SCREENSHOTS === '1'
    ? join(process.cwd(), 'docs/images')
    : mkdtempSync(join(tmpdir(), 'dashboard-shots-'));

describe('dashboard run actions in headless Chromium', () => {
  const database = useTestDatabase('postgres');
  const queues = useQueues();
  let tasks: AgentcoreTask;
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let base: string;
  const consoleErrors: string[] = [];
  const failing = new Set<string>();

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    tasks = await createAgentcoreTask({
      database: database.url,
      ...defaultSyncOptions,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    const handler = createHandler(tasks, { getUser, prefix: PREFIX });
    await new Promise<void>((resolve) => {
      server = serve(
        {
          fetch: async (request: Request) => {
            const response = await handler(request);
            return new Response(response.body, response);
          },
          hostname: '127.0.0.1',
          port: 0,
        },
        () => resolve(),
      );
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await tasks?.close();
  });

  async function openRun(token: string, id: number, locale = 'en-US'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale, timezoneId: 'UTC' });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(`${base}${PREFIX}/dashboard/`);
    await page
      .getByLabel(locale === 'en-US' ? 'Access token' : /./)
      .first()
      .fill(token);
    await page.keyboard.press('Enter');
    await page.locator('h1').first().waitFor();
    await page.goto(`${base}${PREFIX}/dashboard/#/runs/${id}`);
    await page.locator('.detail-head').waitFor();
    return page;
  }

  it('retry: admins only, confirmation by keyboard, Escape changes nothing, the run reopens live and ends', async () => {
    const queue = queues.queue('ui-retry');
    const worker = queues.worker(
      new Worker(
        queue.name,
        tracked(
          tasks,
          async (job) => {
            if (failing.has(String(job.id))) {
              failing.delete(String(job.id));
              throw new Error('Invoice service answered 502');
            }
            return { sent: 12 };
          },
          { module: 'billing' },
        ),
        { connection },
      ),
    );
    const jobId = `invoice-${Date.now()}`;
    failing.add(jobId);
    await dispatch(
      tasks,
      queue,
      'billing.send_invoices',
      {},
      {
        module: 'billing',
        createdBy: { id: 1, username: 'alice' },
        jobOptions: { jobId },
      },
    );
    await waitFor('FAILURE', async () => (await tasks.tracker.getTask(jobId))?.status === 'FAILURE');
    const run = (await tasks.tracker.getTask(jobId))!;

    // Alice (not an admin) sees her run but no action.
    const alice = await openRun('alice-token', run.id);
    await alice.getByRole('button', { name: 'Sync' }).waitFor();
    expect(await alice.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    await alice.context().close();

    const page = await openRun('admin-token', run.id);
    const retry = page.getByRole('button', { name: 'Retry', exact: true });
    await retry.waitFor();
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0); // a failed run offers Retry only
    // Keyboard: focus the button, Enter opens the dialog with focus inside it; Escape closes it, focus comes back.
    await retry.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Retry this run?' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Retry');
    expect((await tasks.tracker.getTask(jobId))?.status).toBe('FAILURE');

    // Stop the worker so the reopened run stays RETRY long enough to be seen, then confirm by keyboard.
    await worker.close();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    if (process.env.DASHBOARD_SCREENSHOTS === '1')
      await page.screenshot({ path: join(shots, 'dashboard-actions.png') });
    await page.keyboard.press('Tab'); // Go back → Retry the job
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Retry the job');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Retry requested' }).waitFor();
    await page
      .locator('h1 [data-status="RETRY"], h1 .badge', { hasText: /RETRY|Retry/i })
      .first()
      .waitFor();
    const after = (await tasks.tracker.getTask(jobId))!;
    expect(after.status).toBe('RETRY');
    expect(after.metadata.actions).toEqual([
      { action: 'retry', by: { id: 99, username: 'root' }, at: expect.any(String), from: 'FAILURE' },
    ]);
    // A worker takes the job again: the page follows to SUCCESS without a reload.
    queues.worker(
      new Worker(
        queue.name,
        tracked(tasks, async () => ({ sent: 12 }), { module: 'billing' }),
        { connection },
      ),
    );
    await page
      .locator('h1 .badge', { hasText: /SUCCESS|Success/i })
      .first()
      .waitFor({ timeout: 10_000 });
    await page.context().close();
  });

  it('cancel: a waiting job, confirmed with the mouse, is removed and the run shows REVOKED with who cancelled it', async () => {
    const queue = queues.queue('ui-cancel'); // no worker: the job waits
    const { job } = await dispatch(tasks, queue, 'reports.build_quarterly', {}, { module: 'reports' });
    const run = (await tasks.tracker.getTask(String(job.id)))!;
    const page = await openRun('admin-token', run.id);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
    await dialog.waitFor();
    // "Go back" dismisses: nothing changes.
    await dialog.getByRole('button', { name: 'Go back' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await job.getState()).toBe('waiting');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await dialog.getByRole('button', { name: 'Cancel the job' }).click();
    await page.getByRole('status').filter({ hasText: 'Cancelled' }).waitFor();
    await page.getByText('cancelled by root').first().waitFor();
    expect(await queue.getJob(String(job.id))).toBeUndefined();
    expect(await tasks.tracker.getTask(run.taskId)).toMatchObject({ status: 'REVOKED', error: 'cancelled by root' });
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    await page.context().close();
    expect(consoleErrors).toEqual([]);
  });
});
