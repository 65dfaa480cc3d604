/**
 * `GET metrics`: Prometheus text exposition (format 0.0.4) of the stored runs, for admins or a scraper holding the
 * configured token. Counts come from the database (every process's runs), with a constant number of grouped queries.
 */
import { timingSafeEqual } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import { ForbiddenError } from '../errors.js';
import type { DialectName } from '../store/dialect.js';
import type { RegisterRoute } from './app.js';
import type { HttpContext } from './context.js';
import { AuthenticationRequiredError } from './errors.js';
import { detailErrorSchema } from './schemas.js';

/** Handler options of `GET metrics`. */
export interface MetricsOptions {
  /**
   * A scrape token: `Authorization: Bearer <metricsToken>` reads the metrics without a user (Prometheus
   * `authorization: { credentials: … }`). Without it only admins (`isAdmin`) may read them.
   */
  metricsToken?: string;
  /**
   * Task names given series of their own (those with the most stored runs); the runs of every other name are counted
   * under `task_name="__other__"` (per module), so a scrape stays bounded however many names there are, and totals
   * stay exact. @defaultValue 1000
   */
  metricsMaxTaskNames?: number;
}

/** Every default of the metrics options, in one place. */
export const METRICS_DEFAULTS = Object.freeze({ metricsMaxTaskNames: 1000 });

/** The `task_name` label of the runs of names past `metricsMaxTaskNames`. */
export const OTHER_TASK_NAMES = '__other__';

/** Upper bounds (seconds) of the run duration histogram buckets. */
export const DURATION_BUCKETS = Object.freeze([0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 21600]);

/** Seconds between `started_at` and `finished_at`, per dialect. */
function durationSeconds(dialect: DialectName): RawBuilder<number> {
  if (dialect === 'postgres') return sql<number>`extract(epoch from (finished_at - started_at))`;
  if (dialect === 'mysql') return sql<number>`(TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) / 1000000.0)`;
  return sql<number>`((julianday(finished_at) - julianday(started_at)) * 86400.0)`;
}

/** `{a="x",b="y"}` with label values escaped as the format requires (backslash, double quote, newline). */
export function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** The metrics text of an instance. */
export async function renderMetrics(
  ctx: HttpContext,
  openStreams: number,
  maxTaskNames: number = METRICS_DEFAULTS.metricsMaxTaskNames,
): Promise<string> {
  const { db, dialect } = ctx.tasks;
  const runs = await db
    .selectFrom('agentcore_task_execution')
    .select(['status', 'module', 'task_name', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy(['status', 'module', 'task_name'])
    .orderBy('module')
    .orderBy('task_name')
    .orderBy('status')
    .execute();

  // One grouped query for the histogram: each finished run falls in its first bucket; cumulated below.
  const d = durationSeconds(dialect.name);
  const bucketCase = sql.join(
    DURATION_BUCKETS.map((le, i) => sql`when ${sql.ref('d')} <= ${le} then ${sql.lit(i)}`),
    sql` `,
  );
  const durations = await sql<{
    module: string;
    task_name: string;
    b: number | string;
    n: number | string;
    s: number | string | null;
  }>`
    select module, task_name, case ${bucketCase} else ${sql.lit(DURATION_BUCKETS.length)} end as b, count(*) as n, sum(d) as s
    from (select module, task_name, ${d} as d from agentcore_task_execution
          where started_at is not null and finished_at is not null) finished
    group by module, task_name, b
    order by module, task_name, b`.execute(db);

  // The names with the most runs keep their own series; the rest fold into one per module.
  const perName = new Map<string, number>();
  for (const r of runs) perName.set(r.task_name, (perName.get(r.task_name) ?? 0) + Number(r.n));
  const kept = new Set(
    [...perName]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, Math.max(0, maxTaskNames))
      .map(([name]) => name),
  );
  const label = (taskName: string) => (kept.has(taskName) ? taskName : OTHER_TASK_NAMES);
  const counts = new Map<string, { status: string; module: string; taskName: string; n: number }>();
  for (const r of runs) {
    const taskName = label(r.task_name);
    const key = JSON.stringify([r.module, taskName, r.status]);
    const entry = counts.get(key);
    if (entry) entry.n += Number(r.n);
    else counts.set(key, { status: r.status, module: r.module, taskName, n: Number(r.n) });
  }

  const out: string[] = [];
  out.push('# HELP agentcore_task_runs Task runs stored, by status, module and task name.');
  out.push('# TYPE agentcore_task_runs gauge');
  for (const r of counts.values())
    out.push(`agentcore_task_runs${labels({ status: r.status, module: r.module, task_name: r.taskName })} ${r.n}`);

  out.push('# HELP agentcore_task_run_duration_seconds Duration (finished - started) of the stored finished runs.');
  out.push('# TYPE agentcore_task_run_duration_seconds histogram');
  const series = new Map<string, { module: string; taskName: string; counts: number[]; sum: number }>();
  for (const row of durations.rows) {
    const taskName = label(row.task_name);
    const key = JSON.stringify([row.module, taskName]);
    let s = series.get(key);
    if (!s) {
      s = {
        module: row.module,
        taskName,
        counts: new Array(DURATION_BUCKETS.length + 1).fill(0),
        sum: 0,
      };
      series.set(key, s);
    }
    s.counts[Number(row.b)] += Number(row.n);
    s.sum += Number(row.s ?? 0);
  }
  for (const s of series.values()) {
    const base = { module: s.module, task_name: s.taskName };
    let cumulative = 0;
    DURATION_BUCKETS.forEach((le, i) => {
      cumulative += s.counts[i];
      out.push(`agentcore_task_run_duration_seconds_bucket${labels({ ...base, le: number(le) })} ${cumulative}`);
    });
    cumulative += s.counts[DURATION_BUCKETS.length];
    out.push(`agentcore_task_run_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${cumulative}`);
    out.push(`agentcore_task_run_duration_seconds_sum${labels(base)} ${number(Math.max(0, s.sum))}`);
    out.push(`agentcore_task_run_duration_seconds_count${labels(base)} ${cumulative}`);
  }

  out.push(
    `# HELP agentcore_task_folded_task_names Task names counted under task_name="${OTHER_TASK_NAMES}" (past the limit of ${maxTaskNames}).`,
  );
  out.push('# TYPE agentcore_task_folded_task_names gauge');
  out.push(`agentcore_task_folded_task_names ${perName.size - kept.size}`);
  out.push('# HELP agentcore_task_open_streams Server-sent event streams open on this handler.');
  out.push('# TYPE agentcore_task_open_streams gauge');
  out.push(`agentcore_task_open_streams ${openStreams}`);
  out.push('# HELP agentcore_task_pending_writes Writes acknowledged but not yet stored (database unreachable).');
  out.push('# TYPE agentcore_task_pending_writes gauge');
  out.push(`agentcore_task_pending_writes ${ctx.tasks.tracker.pendingWrites}`);
  return `${out.join('\n')}\n`;
}

function tokenMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Registers `GET metrics` (it authenticates by itself: register it before the authentication middleware). */
export function registerMetricsRoute(route: RegisterRoute, ctx: HttpContext, openStreams: () => number): void {
  const { metricsToken, metricsMaxTaskNames } = ctx.options as MetricsOptions;
  const maxTaskNames =
    metricsMaxTaskNames !== undefined && Number.isSafeInteger(metricsMaxTaskNames) && metricsMaxTaskNames >= 0
      ? metricsMaxTaskNames
      : METRICS_DEFAULTS.metricsMaxTaskNames;
  route(
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus text format: runs by status, module and task name, run durations, open streams.',
      description: 'For admins, or with `Authorization: Bearer <metricsToken>` when the handler has a `metricsToken`.',
      tags: ['meta'],
      authenticated: false,
      responses: {
        200: { description: 'Prometheus text exposition format 0.0.4', contentType: 'text/plain; version=0.0.4' },
        401: { description: 'No user and no scrape token', schema: detailErrorSchema },
        403: { description: 'Neither an admin nor the scrape token', schema: detailErrorSchema },
      },
    },
    async (c) => {
      if (!tokenMatches(c.req.header('authorization'), metricsToken)) {
        const user = await ctx.options.getUser(c.req.raw, c.env?.native);
        if (!user) throw new AuthenticationRequiredError();
        if (!(await ctx.options.isAdmin(user)))
          throw new ForbiddenError('Only admins or the metrics token may read metrics.');
      }
      const body = await renderMetrics(ctx, openStreams(), maxTaskNames);
      return c.body(body, 200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'cache-control': 'no-store',
      });
    },
  );
}
