/**
 * The stats extensions on PostgreSQL, MariaDB and SQLite: `series_by_status` (the series buckets by status, from the
 * aggregates or the table) and `duration_by_task_name` (p50/p95 of completed runs per task name, `durations=true`),
 * each equal to a brute force over the generated rows, with the list's scoping and filters. Old fields unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { statsSchema } from '../../src/http/schemas.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { durationsByTaskName } from '../../src/store/durations.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';
import {
  type BruteFilters,
  BUSY_DAY,
  bruteList,
  type ModelRow,
  seedRuns,
  TOKENS,
  USERS,
  type UserKey,
} from './fixtures.js';

const COMPLETED = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
const STATUS_KEYS = ['pending', 'started', 'success', 'failure', 'retry', 'revoked'] as const;
const pad = (n: number) => String(n).padStart(2, '0');

function getUser(request: Request) {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  const key = (Object.keys(TOKENS) as UserKey[]).find((k) => TOKENS[k] === token);
  return key ? USERS[key] : null;
}

/** A completed run's timing as the test sets it: `null` start for some, to prove they are left out. */
interface Timed extends ModelRow {
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** `percentile_cont`: linear interpolation between the two nearest ranks of the sorted values. */
function percentileCont(sorted: number[], p: number): number {
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

/** Brute-force `duration_by_task_name` over `rows`, optionally over the latest `sample` runs of each name. */
function bruteDurations(rows: readonly Timed[], sample = Number.POSITIVE_INFINITY) {
  const byName = new Map<string, Timed[]>();
  for (const r of rows) {
    if (!COMPLETED.has(r.status) || !r.startedAt || !r.finishedAt) continue;
    byName.set(r.taskName, [...(byName.get(r.taskName) ?? []), r]);
  }
  const out: Record<string, { p50: number; p95: number; count: number; sampled?: true }> = {};
  for (const [name, runs] of byName) {
    const latest = [...runs]
      .sort((x, y) => (y.finishedAt?.getTime() ?? 0) - (x.finishedAt?.getTime() ?? 0) || y.id - x.id)
      .slice(0, sample);
    const durations = latest
      .map((r) => ((r.finishedAt?.getTime() ?? 0) - (r.startedAt?.getTime() ?? 0)) / 1000)
      .sort((a, b) => a - b);
    out[name] = {
      p50: percentileCont(durations, 0.5),
      p95: percentileCont(durations, 0.95),
      count: runs.length,
      ...(runs.length > latest.length ? { sampled: true as const } : {}),
    };
  }
  return out;
}

function expectDurations(actual: unknown, expected: ReturnType<typeof bruteDurations>, label: string) {
  const got = actual as typeof expected;
  expect(Object.keys(got).sort(), label).toEqual(Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    expect(got[name].count, `${label} ${name} count`).toBe(e.count);
    expect(got[name].sampled, `${label} ${name} sampled`).toBe(e.sampled);
    expect(got[name].p50, `${label} ${name} p50`).toBeCloseTo(e.p50, 3);
    expect(got[name].p95, `${label} ${name} p95`).toBeCloseTo(e.p95, 3);
  }
}

describe.each(DIALECTS)('stats extensions on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let handler: ReturnType<typeof createHandler>;
  let rows: Timed[];

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'memory' });
    handler = createHandler(tasks, { getUser });
    const seeded = await seedRuns(tasks);
    // Durations with milliseconds, distinct and spread (1 ms – 10 min); every tenth completed run never started.
    rows = seeded.map((r, i) => {
      if (!COMPLETED.has(r.status)) return { ...r, startedAt: null, finishedAt: null };
      const startedAt = i % 10 === 3 ? null : new Date(r.createdAt.getTime() + 1000 + (i % 7) * 13);
      const finishedAt = new Date(r.createdAt.getTime() + 1000 + ((i * 7919) % 600_000) + 1);
      return { ...r, startedAt, finishedAt };
    });
    for (const r of rows) {
      if (!COMPLETED.has(r.status)) continue;
      const at = (d: Date | null) => (d ? (tasks.dialect.toDbDate(d) as never) : null);
      await tasks.db
        .updateTable('agentcore_task_execution')
        .set({ started_at: at(r.startedAt), finished_at: at(r.finishedAt) })
        .where('id', '=', r.id)
        .execute();
    }
  }, 120_000);
  afterAll(async () => {
    await tasks?.close();
  });

  const getStats = async (user: UserKey, params: string) => {
    const response = await handler(
      new Request(`http://tasks.test/executions/stats/?${params}`, {
        headers: { authorization: `Bearer ${TOKENS[user]}` },
      }),
    );
    expect(response.status, params).toBe(200);
    const body = await response.json();
    statsSchema.parse(body);
    return body;
  };
  const own = (user: UserKey): BruteFilters => ({ creator: USERS[user].id });

  it('series_by_status: each bucket of the series by status, equal to the brute force (aggregates and table)', async () => {
    const hours = Array.from({ length: 24 }, (_, h) => `${pad(h)}:00`);
    const days = Array.from({ length: 30 }, (_, i) =>
      new Date(Date.UTC(2024, 3, 20) - (29 - i) * 86_400_000).toISOString().slice(0, 10),
    );
    const months = Array.from({ length: 12 }, (_, i) => {
      const d = new Date(Date.UTC(2024, 4 - 11 + i, 1));
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
    });
    const cases: Array<[UserKey, string, BruteFilters, string[], (d: Date) => string]> = [
      // Unscoped, whole days: read from the aggregates.
      [
        'admin',
        `my_tasks=false&granularity=day&start_date=${BUSY_DAY}`,
        { creator: 'all' },
        hours,
        (d) => (d.toISOString().startsWith(BUSY_DAY) ? `${pad(d.getUTCHours())}:00` : ''),
      ],
      // Scoped to a creator: counted over the table.
      [
        'a',
        'granularity=month&end_date=2024-04-20&module=mail',
        { ...own('a'), module: 'mail' },
        days,
        (d) => d.toISOString().slice(0, 10),
      ],
      [
        'admin',
        `created_by=${USERS.b.id}&granularity=year&end_date=2024-05-31`,
        own('b'),
        months,
        (d) => d.toISOString().slice(0, 7),
      ],
      [
        'admin',
        'my_tasks=false&granularity=year&end_date=2024-05-31',
        { creator: 'all' },
        months,
        (d) => d.toISOString().slice(0, 7),
      ],
    ];
    for (const [user, params, filters, buckets, label] of cases) {
      const stats = await getStats(user, params);
      const matching = bruteList(rows, filters);
      const expected = buckets.map((bucket) => {
        const inBucket = matching.filter((r) => label(r.createdAt) === bucket);
        const counts: Record<string, number> = { total: inBucket.length };
        for (const key of STATUS_KEYS) counts[key] = inBucket.filter((r) => r.status.toLowerCase() === key).length;
        return { bucket, counts };
      });
      expect(stats.series_by_status, `${user} ${params}`).toEqual(expected);
      // `series` stays as it was: the totals of the same buckets.
      expect(stats.series).toEqual(expected.map((b) => ({ bucket: b.bucket, count: b.counts.total })));
      expect(expected.some((b) => b.counts.total > 0 && b.counts.total > b.counts.success)).toBe(true);
    }
    const plain = await getStats('a', '');
    expect(plain.series_by_status).toBeUndefined();
    expect(plain.duration_by_task_name).toBeUndefined();
  });

  it('duration_by_task_name (durations=true): p50/p95 and count of completed runs per name, scoped and filtered', async () => {
    const cases: Array<[UserKey, string, BruteFilters]> = [
      ['admin', 'my_tasks=false&durations=true', { creator: 'all' }],
      ['a', 'durations=true', own('a')],
      ['b', 'durations=true&module=billing', { ...own('b'), module: 'billing' }],
      [
        'admin',
        'my_tasks=false&durations=true&start_date=2024-04-01&end_date=2024-04-30&granularity=month',
        { creator: 'all', start: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-04-30T23:59:59.999Z') },
      ],
    ];
    for (const [user, params, filters] of cases) {
      const stats = await getStats(user, params);
      const expected = bruteDurations(bruteList(rows, filters) as Timed[]);
      expect(Object.keys(expected).length, params).toBeGreaterThan(1);
      expectDurations(stats.duration_by_task_name, expected, `${user} ${params}`);
    }
    // Some completed runs have no start: they are not counted.
    const all = await getStats('admin', 'my_tasks=false&durations=true');
    const completed = rows.filter((r) => COMPLETED.has(r.status)).length;
    const counted = Object.values(all.duration_by_task_name as Record<string, { count: number }>).reduce(
      (n, d) => n + d.count,
      0,
    );
    expect(counted).toBeLessThan(completed);
    expect(counted).toBe(rows.filter((r) => r.startedAt && COMPLETED.has(r.status)).length);
  });

  it('durations=maybe is a 400 naming durations', async () => {
    const response = await handler(
      new Request('http://tasks.test/executions/stats/?durations=maybe', {
        headers: { authorization: `Bearer ${TOKENS.a}` },
      }),
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'durations must be true or false', field: 'durations' });
  });

  it(
    dialect === 'postgres'
      ? 'PostgreSQL is exact over every run (percentile_cont), whatever the sample size'
      : 'beyond the sample size, the latest runs of each name by finished_at, marked sampled',
    async () => {
      const got = await durationsByTaskName(tasks.db, tasks.dialect, {}, 5);
      const expected = bruteDurations(rows, dialect === 'postgres' ? Number.POSITIVE_INFINITY : 5);
      if (dialect !== 'postgres') expect(Object.values(expected).some((d) => d.sampled)).toBe(true);
      expectDurations(got, expected, 'sample 5');
    },
  );
});
