/**
 * The dashboard end to end in headless Chromium (Debian's `chromium`, driven by playwright-core): a real server on
 * loopback, users with tokens, progress written by another instance arriving live, detail, filters, stats, locks.
 * `DASHBOARD_SCREENSHOTS=1` writes the README screenshots to docs/images/ (else to a temporary folder).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskLogCollector } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PREFIX = '/api/v1/tasks';
const USERS: Record<string, { id: number; username: string; isAdmin?: boolean }> = {
  'alice-token': { id: 1, username: 'alice' },
  'bob-token': { id: 2, username: 'bob' },
  'admin-token': { id: 99, username: 'root', isAdmin: true },
};
const SESSIONS: Record<string, string> = { 'alice-session': 'alice-token' };
/** Bearer token, or a host session cookie (the dashboard needs no token then). */
function getUser(request: Request) {
  const bearer = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const session = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.get('cookie') ?? '')?.[1];
  return USERS[bearer ?? SESSIONS[session ?? ''] ?? ''] ?? null;
}
const shots =
  process.env.DASHBOARD_SCREENSHOTS === '1'
    ? join(process.cwd(), 'docs/images')
    : mkdtempSync(join(tmpdir(), 'dashboard-shots-'));
const DAY = 86_400_000;

describe('dashboard in headless Chromium', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask; // the server's instance
  let worker: AgentcoreTask; // another process writing progress
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let base: string;
  const offsite: string[] = [];
  const consoleErrors: string[] = [];
  const running = 'job-7f3a-monthly-report';
  const failed = 'job-2c91-invoice-sync';
  const bobs = 'job-bob-private-export';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    worker = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      migrate: false,
      onRecordError: 'throw',
    });
    await seed(tasks);
    const handler = createHandler(tasks, { getUser, prefix: PREFIX });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: handler, hostname: '127.0.0.1', port: 0 }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await worker?.close();
    await tasks?.close();
  });

  async function seed(t: AgentcoreTask) {
    const now = Date.now();
    const plan: Array<[string, string, string, number, 'SUCCESS' | 'FAILURE' | 'PENDING' | 'STARTED' | 'REVOKED']> = [];
    const names: Array<[string, string]> = [
      ['billing', 'billing.send_invoice'],
      ['reports', 'reports.build_dashboard'],
      ['mail', 'mail.weekly_digest'],
      ['billing', 'billing.reconcile_payments'],
    ];
    for (let i = 0; i < 36; i++) {
      const [module, name] = names[i % names.length];
      const status = i % 9 === 4 ? 'FAILURE' : i % 13 === 6 ? 'REVOKED' : 'SUCCESS';
      plan.push([
        `job-${(1000 + i).toString(16)}-${name.split('.')[1]}`,
        module,
        name,
        now - ((i * 37) % 29) * DAY - (i % 5) * 3_600_000 - 2 * 3_600_000,
        status,
      ]);
    }
    for (const [taskId, module, taskName, created, status] of plan) {
      await t.registerTaskExecution({
        taskId,
        taskName,
        module,
        createdBy: { id: 1, username: 'alice' },
        taskKwargs: { tenant: 'acme' },
      });
      await t.tracker.updateTaskStatus(taskId, 'STARTED');
      await t.tracker.updateTaskStatus(
        taskId,
        status,
        status === 'FAILURE' ? { error: 'Upstream timed out' } : { result: { ok: true } },
      );
      const at = (ms: number) => t.dialect.toDbDate(new Date(ms)) as never;
      await t.db
        .updateTable('agentcore_task_execution')
        .set({
          created_at: at(created),
          started_at: at(created + 1500),
          finished_at: at(created + 1500 + 800 + ((plan.findIndex((p) => p[0] === taskId) * 7919) % 240_000)),
        })
        .where('task_id', '=', taskId)
        .execute();
    }
    await t.registerTaskExecution({
      taskId: 'job-9d20-send-reminders',
      taskName: 'mail.send_reminders',
      module: 'mail',
      createdBy: { id: 1, username: 'alice' },
    });
    await t.registerTaskExecution({
      taskId: failed,
      taskName: 'billing.sync_invoices',
      module: 'billing',
      createdBy: { id: 1, username: 'alice' },
      taskArgs: [2024, 'Q3'],
    });
    await t.tracker.updateTaskStatus(failed, 'STARTED');
    await t.tracker.updateTaskStatus(failed, 'FAILURE', {
      error: 'ConnectionError: ledger API refused the connection',
      traceback:
        'ConnectionError: ledger API refused the connection\n    at fetchLedger (src/billing/ledger.ts:88:11)\n    at syncInvoices (src/billing/sync.ts:41:5)',
    });
    await t.registerTaskExecution({
      taskId: bobs,
      taskName: 'exports.private_export',
      module: 'exports',
      createdBy: { id: 2, username: 'bob' },
    });
    await t.registerTaskExecution({
      taskId: running,
      taskName: 'reports.build_monthly',
      module: 'reports',
      createdBy: { id: 1, username: 'alice' },
      taskArgs: ['2024-09'],
      taskKwargs: { tenant: 'acme', format: 'pdf', recipients: ['cfo@acme.test'] },
      metadata: { report_id: 4711 },
    });
    await t.tracker.updateTaskStatus(running, 'STARTED');
    const logs = new TaskLogCollector();
    logs.info('Loaded 12,408 ledger rows');
    logs.warning('3 rows without cost centre; booked to "unassigned"');
    logs.info('Rendering charts');
    await logs.flushTo(t.tracker, running);
    await t.tracker.reportProgress(running, { percent: 10, message: 'Loading ledger', step: 'load' });
    await t.registerTaskExecution({
      taskId: 'job-5b77-reconcile',
      taskName: 'billing.reconcile_payments',
      module: 'billing',
      createdBy: { id: 1, username: 'alice' },
    });
    await t.tracker.updateTaskStatus('job-5b77-reconcile', 'STARTED');
    await t.tracker.reportProgress('job-5b77-reconcile', { percent: 82, message: 'Matching bank lines', step: '3/4' });
  }

  async function newPage(width = 1280, height = 860): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width, height },
      deviceScaleFactor: 1,
      colorScheme: 'light',
    });
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) offsite.push(r.url());
    });
    // CSP violations and script errors land here; the 401s before sign-in and the 403 of the admin probe are expected.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    return page;
  }

  async function signIn(page: Page, token: string) {
    await page.goto(`${base}${PREFIX}/dashboard/`);
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Task runs' }).waitFor();
  }

  it('signs in, lists own runs, shows progress moving live, opens the detail, filters, shows stats', async () => {
    const page = await newPage();
    // A wrong token is refused on the sign-in page.
    await page.goto(`${base}${PREFIX}/dashboard`); // without the slash: redirected
    expect(page.url()).toBe(`${base}${PREFIX}/dashboard/`);
    await page.getByLabel('Access token').fill('nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();

    await signIn(page, 'alice-token');
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'reports.build_monthly' }) });
    await row.waitFor();
    expect(await page.getByText(bobs).count()).toBe(0); // bob's run is not alice's to see
    const bar = row.getByRole('progressbar');
    expect(await bar.getAttribute('aria-valuenow')).toBe('10');
    await page.locator('.live-live').waitFor(); // the stream is open

    // Progress written by another process moves the bar without a reload.
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await worker.tracker.reportProgress(running, {
      percent: 35,
      message: 'Aggregating cost centres',
      step: 'aggregate',
    });
    await page.waitForFunction(
      () => document.querySelector('[data-status] [role=progressbar][aria-valuenow="35"]') !== null,
      null,
      { timeout: 3000 },
    );
    await worker.tracker.reportProgress(running, { percent: 68, message: 'Rendering charts', step: 'render' });
    await page.waitForFunction(() => document.querySelector('[role=progressbar][aria-valuenow="68"]') !== null, null, {
      timeout: 3000,
    });
    expect(await row.textContent()).toContain('render · Rendering charts');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42); // no reload
    // A run created meanwhile appears at the top.
    await worker.registerTaskExecution({
      taskId: 'job-a11c-new-digest',
      taskName: 'mail.daily_digest',
      module: 'mail',
      createdBy: { id: 1, username: 'alice' },
    });
    await page.getByRole('link', { name: 'mail.daily_digest' }).waitFor({ timeout: 3000 });
    await page.waitForTimeout(400); // let the bar's transition settle for the screenshot
    await page.screenshot({ path: join(shots, 'dashboard-list.png'), fullPage: true });

    // Detail of the running run, finishing live.
    await row.getByRole('link', { name: 'reports.build_monthly' }).click();
    await page.getByRole('heading', { name: /reports\.build_monthly/ }).waitFor();
    await page.getByText('Loaded 12,408 ledger rows').waitFor();
    expect(await page.getByLabel('Keyword arguments (JSON)', { exact: true }).textContent()).toContain(
      '"format": "pdf"',
    );
    expect(await page.getByLabel('Arguments (JSON)', { exact: true }).textContent()).toContain('2024-09');
    await worker.tracker.reportProgress(running, { percent: 100, message: 'Report sent', step: 'deliver' });
    await worker.tracker.updateTaskStatus(running, 'SUCCESS', {
      result: { pages: 14, file: 'reports/2024-09-acme.pdf' },
    });
    await page.locator('.detail-head .badge-success').waitFor({ timeout: 3000 });
    await page
      .getByLabel('Result (JSON)', { exact: true })
      .filter({ hasText: 'reports/2024-09-acme.pdf' })
      .waitFor({ timeout: 3000 });
    expect(await page.locator('.timeline li.done').count()).toBe(3);
    await page.getByRole('button', { name: /sync this run/i }).click(); // no queue configured: the row comes back as is
    await page.getByRole('status').filter({ hasText: 'Synced' }).waitFor();
    await page.screenshot({ path: join(shots, 'dashboard-detail.png'), fullPage: true });

    // The failed run's detail shows error and traceback.
    await page.goto(`${base}${PREFIX}/dashboard/#/runs`);
    await page.getByRole('link', { name: 'billing.sync_invoices' }).click();
    await page.getByLabel('Traceback').filter({ hasText: 'at fetchLedger' }).waitFor();

    // Filter by status.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Runs' }).click();
    await page.getByLabel('Status').selectOption('FAILURE');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => window.location.hash.includes('status=FAILURE'));
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr[data-status]')];
      return rows.length > 0 && rows.every((r) => r.getAttribute('data-status') === 'FAILURE');
    });
    expect(await page.getByRole('link', { name: 'billing.sync_invoices' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'reports.build_monthly' }).count()).toBe(0);

    // Stats.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Stats' }).click();
    await page.getByRole('heading', { name: 'Statistics' }).waitFor();
    const totals = page.getByRole('list', { name: 'Runs by status' });
    await totals.waitFor();
    const expected = await tasks.tracker.getTaskStats({ createdById: 1 });
    expect(await totals.locator('.count-total strong').textContent()).toBe(String(expected.total));
    expect(await totals.locator('.count-failure strong').textContent()).toBe(String(expected.failure));
    await page.locator('figure.chart svg').waitFor();
    expect(await page.locator('figure.chart svg rect').count()).toBe(30);
    expect(await page.getByRole('table').filter({ hasText: 'billing.send_invoice' }).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'dashboard-stats.png'), fullPage: true });

    expect(offsite).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('fits a phone screen, and a host session cookie signs in without a token', async () => {
    const page = await newPage(390, 844);
    await page.context().addCookies([{ name: 'session', value: 'alice-session', url: base }]);
    await page.goto(`${base}${PREFIX}/dashboard/`);
    await page.getByRole('heading', { name: 'Task runs' }).waitFor();
    await page.getByRole('link', { name: 'billing.sync_invoices' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0); // nothing to sign out of: the host's session
    if (process.env.DASHBOARD_SCREENSHOTS === '1') await page.screenshot({ path: join(shots, 'dashboard-phone.png') });
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Stats' }).click();
    await page.locator('figure.chart svg').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(offsite).toEqual([]);
    await page.context().close();
  });

  it('shows admins every user and the locks page; hides it from others', async () => {
    expect(await tasks.acquireTaskLock('nightly_report_acme', 600)).toBe(true);
    const page = await newPage();
    await signIn(page, 'admin-token');
    await page.getByLabel('All users').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(bobs).waitFor();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Locks' }).click();
    await page.getByText('nightly_report_acme').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'bob-token');
    expect(await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Locks' }).count()).toBe(
      0,
    );
    expect(await page.getByLabel('All users').count()).toBe(0);
    await page.getByText(bobs).waitFor();
    expect(await page.getByText(running).count()).toBe(0);
    await tasks.releaseTaskLock('nightly_report_acme');
    await page.context().close();
  });
}, 120_000);
