/**
 * "More to see" in headless Chromium (Debian's `chromium`, driven by playwright-core), against a real server on
 * loopback: click-to-sort column headers (mouse and keyboard, `aria-sort`, in the URL), runs over time stacked by
 * status with a legend and a table, run time p50/p95 per task name, and the Export buttons downloading the current
 * filter as CSV and JSON. What the page shows is compared with what the API answers.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, type TaskStats } from '../../src/index.js';
import type { TaskStatusValue } from '../../src/status.js';
import { useTestDatabase } from '../helpers/databases.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PREFIX = '/api/v1/tasks';
const USERS: Record<string, { id: number; username: string; isAdmin?: boolean }> = {
  'alice-token': { id: 1, username: 'alice' },
  'admin-token': { id: 99, username: 'root', isAdmin: true },
};
const getUser = (request: Request) =>
  USERS[/^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? ''] ?? null;
const DAY = 86_400_000;
/** Screenshots to look at (not compared): a temporary folder unless `DASHBOARD_SHOTS_DIR` names one. */
const shots = process.env.DASHBOARD_SHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'dashboard-more-'));

describe('dashboard: sorting, stacked chart, durations, export in headless Chromium', () => {
  const database = useTestDatabase('postgres');
  let tasks: AgentcoreTask;
  let server: ReturnType<typeof serve>;
  let browser: Browser;
  let base: string;
  const offsite: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    // 72 runs over the last 20 days, two creators, every status, distinct run times.
    const names = ['billing.send_invoice', 'reports.build_dashboard', 'mail.weekly_digest', 'Alpha.first'];
    const statuses: TaskStatusValue[] = ['SUCCESS', 'FAILURE', 'SUCCESS', 'REVOKED', 'STARTED', 'PENDING', 'RETRY'];
    const now = Date.now();
    for (let i = 0; i < 72; i++) {
      const taskName = names[i % names.length];
      const status = statuses[i % statuses.length];
      const taskId = `job-${(4096 + i).toString(16)}-${taskName.split('.')[1]}`;
      await tasks.registerTaskExecution({
        taskId,
        taskName,
        module: taskName.split('.')[0],
        createdBy: i % 3 === 2 ? { id: 2, username: 'bob' } : { id: 1, username: 'alice' },
      });
      if (status !== 'PENDING') await tasks.tracker.updateTaskStatus(taskId, status);
      const created = now - (i % 20) * DAY - (i % 7) * 3_600_000 - 3_600_000;
      const completed = ['SUCCESS', 'FAILURE', 'REVOKED'].includes(status);
      const at = (ms: number) => tasks.dialect.toDbDate(new Date(ms)) as never;
      await tasks.db
        .updateTable('agentcore_task_execution')
        .set({
          created_at: at(created),
          started_at: status === 'PENDING' ? null : at(created + 1000),
          finished_at: completed ? at(created + 1000 + 500 + ((i * 7919) % 180_000)) : null,
        })
        .where('task_id', '=', taskId)
        .execute();
    }
    const handler = createHandler(tasks, { getUser, prefix: PREFIX });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: handler, hostname: '127.0.0.1', port: 0 }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await tasks?.close();
  });

  async function signedIn(token: string, width = 1280): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width, height: 900 },
      locale: 'en-US',
      timezoneId: 'UTC',
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        offsite.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${base}${PREFIX}/dashboard/`);
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Task runs' }).waitFor();
    return page;
  }

  async function apiGet<T>(token: string, path: string): Promise<T> {
    const res = await fetch(`${base}${PREFIX}/${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status, path).toBe(200);
    return (await res.json()) as T;
  }

  /** The run ids the table shows, top to bottom. */
  const shownIds = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('tr[data-run-id]')].map((r) => Number(r.getAttribute('data-run-id'))),
    );

  async function expectRowsAs(page: Page, query: string) {
    const want = (await apiGet<{ results: Array<{ id: number }> }>('alice-token', `executions/?${query}`)).results.map(
      (r) => r.id,
    );
    await expect.poll(() => shownIds(page), { timeout: 3000 }).toEqual(want);
  }

  it('sorts by a click on a column header (and by keyboard), says so with aria-sort, keeps it in the URL', async () => {
    const page = await signedIn('alice-token');
    const header = (name: string) => page.locator('thead th', { has: page.getByRole('button', { name }) });
    // Default: newest first, shown on the Created header.
    expect(await header('Created').getAttribute('aria-sort')).toBe('descending');
    expect(await header('Task').getAttribute('aria-sort')).toBeNull();

    await page.getByRole('button', { name: 'Task', exact: true }).click();
    await page.waitForFunction(() => window.location.hash.includes('ordering=task_name'));
    await expect.poll(() => header('Task').getAttribute('aria-sort')).toBe('ascending');
    expect(await header('Created').getAttribute('aria-sort')).toBeNull();
    expect(await page.getByLabel('Order').inputValue()).toBe('task_name');
    await expectRowsAs(page, 'ordering=task_name');

    // Again: reversed.
    await page.getByRole('button', { name: 'Task', exact: true }).click();
    await page.waitForFunction(() => window.location.hash.includes('ordering=-task_name'));
    await expect.poll(() => header('Task').getAttribute('aria-sort')).toBe('descending');
    await expectRowsAs(page, 'ordering=-task_name');

    // Keyboard: the header buttons are in the tab order; Enter sorts.
    await page.getByRole('button', { name: 'Status', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.location.hash.includes('ordering=status'));
    await expect.poll(() => header('Status').getAttribute('aria-sort')).toBe('ascending');
    await expectRowsAs(page, 'ordering=status');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => window.location.hash.includes('ordering=-status'));
    await expectRowsAs(page, 'ordering=-status');

    // Reload keeps the order; Back returns to the previous one.
    await page.reload();
    await page.locator('tr[data-run-id]').first().waitFor();
    await expect.poll(() => header('Status').getAttribute('aria-sort')).toBe('descending');
    await page.goBack();
    await page.waitForFunction(() => window.location.hash.includes('ordering=status'));
    await expectRowsAs(page, 'ordering=status');

    // Created: newest first again, which is the default and leaves the URL.
    await page.getByRole('button', { name: 'Created', exact: true }).click();
    await page.waitForFunction(() => !window.location.hash.includes('ordering='));
    // The URL changes first, the header on the next render.
    await expect.poll(() => header('Created').getAttribute('aria-sort')).toBe('descending');
    await expectRowsAs(page, 'ordering=-created_at');
    await page.screenshot({ path: join(shots, 'sorted-list.png') });
    expect(offsite).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('draws runs over time stacked by status with a legend and a table, and p50/p95 run time per task name', async () => {
    const page = await signedIn('admin-token');
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Stats' }).click();
    await page.locator('figure.chart svg').waitFor();
    const api = await apiGet<TaskStats>(
      'admin-token',
      'executions/stats/?my_tasks=false&granularity=month&durations=true',
    );
    const byStatus = api.series_by_status ?? [];
    expect(byStatus).toHaveLength(30);
    // Every bar: its total and a segment per status with runs, equal to the API's counts.
    const bars = await page.evaluate(() =>
      [...document.querySelectorAll('figure.chart g.bar')].map((g) => ({
        bucket: g.getAttribute('data-bucket'),
        total: Number(g.getAttribute('data-total')),
        segments: Object.fromEntries(
          [...g.querySelectorAll('rect[data-status]')].map((r) => [
            r.getAttribute('data-status'),
            Number(r.getAttribute('data-count')),
          ]),
        ),
      })),
    );
    expect(bars).toEqual(
      byStatus.map((b) => ({
        bucket: b.bucket,
        total: b.counts.total,
        segments: Object.fromEntries(Object.entries(b.counts).filter(([k, n]) => k !== 'total' && n > 0)),
      })),
    );
    expect(bars.some((b) => Object.keys(b.segments).length >= 2)).toBe(true); // really stacked
    // Stacked bottom up without gaps: each bar's segments add up to its height.
    const heights = await page.evaluate(() =>
      [...document.querySelectorAll('figure.chart g.bar')].map((g) => {
        const rects = [...g.querySelectorAll('rect')];
        const sum = rects.reduce((n, r) => n + Number(r.getAttribute('height')), 0);
        const top = Math.min(...rects.map((r) => Number(r.getAttribute('y'))), Number.POSITIVE_INFINITY);
        const bottom = Math.max(...rects.map((r) => Number(r.getAttribute('y')) + Number(r.getAttribute('height'))), 0);
        return rects.length === 0 ? 0 : Math.abs(bottom - top - sum);
      }),
    );
    expect(Math.max(...heights)).toBeLessThan(0.01);
    // The legend names each status drawn, with its total over the chart; colours follow the badges.
    const legend = page.getByRole('list', { name: 'Status colours' });
    for (const status of ['SUCCESS', 'FAILURE', 'REVOKED', 'STARTED', 'RETRY', 'PENDING']) {
      const sum = byStatus.reduce((n, b) => n + b.counts[status.toLowerCase() as 'success'], 0);
      if (sum > 0)
        expect(await legend.getByRole('listitem').filter({ hasText: status }).textContent()).toContain(String(sum));
    }
    const colour = (selector: string) =>
      page.evaluate((s) => getComputedStyle(document.querySelector(s) as Element).fill, selector);
    expect(await colour('rect.seg-failure')).not.toBe(await colour('rect.seg-success'));
    // The same figures as a table, behind a toggle.
    await page.getByText('Show the chart as a table').click();
    const table = page.locator('details.chart-table table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(30);
    const busiest = byStatus.reduce((a, b) => (b.counts.total > a.counts.total ? b : a));
    expect(await table.locator('tbody tr', { hasText: busiest.bucket }).locator('td').first().textContent()).toBe(
      String(busiest.counts.total),
    );

    // Run time per task name: the API's figures, formatted.
    const durations = api.duration_by_task_name ?? {};
    expect(Object.keys(durations).length).toBeGreaterThan(1);
    const section = page.locator('section[aria-labelledby="h-durations"]');
    await section.getByRole('heading', { name: 'Run time by task name' }).waitFor();
    for (const [name, d] of Object.entries(durations)) {
      const row = section.locator(`tr[data-task-name="${name}"]`);
      const cells = row.locator('td');
      expect(await cells.nth(0).textContent()).toBe(String(d.count));
      expect(Number(await cells.nth(1).getAttribute('data-seconds'))).toBeCloseTo(d.p50, 6);
      expect(Number(await cells.nth(2).getAttribute('data-seconds'))).toBeCloseTo(d.p95, 6);
      expect(d.p95).toBeGreaterThanOrEqual(d.p50);
    }
    expect(await section.locator('th', { hasText: 'Median (p50)' }).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'stats-stacked.png'), fullPage: true });
    expect(offsite).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('the Export buttons download the current filter and order as CSV and JSON', async () => {
    const page = await signedIn('alice-token');
    await page.getByLabel('Status').selectOption('SUCCESS');
    await page.waitForFunction(() => window.location.hash.includes('status=SUCCESS'));
    await page.getByRole('button', { name: 'Task', exact: true }).click();
    await page.waitForFunction(() => window.location.hash.includes('ordering=task_name'));
    const want = (
      await apiGet<{ results: Array<{ id: number; task_name: string }> }>(
        'alice-token',
        'executions/?status=SUCCESS&ordering=task_name&page_size=100',
      )
    ).results;
    expect(want.length).toBeGreaterThan(10); // more than one page of the list: the export is not the page

    const [csvDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(csvDownload.suggestedFilename()).toMatch(/^agentcore-task-runs-\d{8}T\d{6}Z\.csv$/);
    const csv = readFileSync((await csvDownload.path()) as string, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(csv[0].split(',').slice(0, 3)).toEqual(['id', 'task_id', 'task_name']);
    expect(csv.slice(1).map((line) => Number(line.split(',')[0]))).toEqual(want.map((r) => r.id));
    await page
      .getByRole('status')
      .filter({ hasText: /^Saved agentcore-task-runs-.*\.csv$/ })
      .waitFor();

    const [jsonDownload] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export JSON' }).click(),
    ]);
    expect(jsonDownload.suggestedFilename()).toMatch(/\.json$/);
    const body = JSON.parse(readFileSync((await jsonDownload.path()) as string, 'utf8'));
    expect(body.results.map((r: { id: number }) => r.id)).toEqual(want.map((r) => r.id));
    expect(body).toMatchObject({ count: want.length, truncated: false });
    expect(body.results.every((r: { status: string }) => r.status === 'SUCCESS')).toBe(true);

    // The buttons are reachable by keyboard and named for what they do.
    const group = page.getByRole('group', { name: /Download the runs matching these filters \(at most 100,000\)/ });
    expect(await group.getByRole('button').count()).toBe(2);
    expect(offsite).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });

  it('stays within a 390-px phone with the new parts (export buttons, legend, tables)', async () => {
    const page = await signedIn('admin-token', 390);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= 390);
    await page.getByRole('button', { name: 'Export CSV' }).waitFor();
    expect(await fits()).toBe(true);
    await page.goto(`${base}${PREFIX}/dashboard/#/stats`);
    await page.locator('section[aria-labelledby="h-durations"] table').waitFor();
    await page.getByText('Show the chart as a table').click();
    expect(await fits()).toBe(true);
    await page.screenshot({ path: join(shots, 'stats-phone.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  });
}, 180_000);
