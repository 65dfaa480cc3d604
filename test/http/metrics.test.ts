/**
 * `GET metrics`: counts equal the database's, every line is valid Prometheus text exposition format (checked by a
 * strict validator written here), and only admins or the scrape token may read it.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, type TaskStatusValue } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

const USERS = { a: { id: 1, username: 'alice' }, admin: { id: 99, username: 'root', isAdmin: true } } as const;
const getUser = (request: Request) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  return token === 'a' ? USERS.a : token === 'admin' ? USERS.admin : null;
};
const SCRAPE_TOKEN = 'scrape-secret-123';

// ── A strict validator of the text exposition format 0.0.4 ────────────────────────────────────────────────────────

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\["\\\\n])*"';
const FLOAT = '(?:[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?Inf|NaN)';
const SAMPLE = new RegExp(
  `^(${NAME})(\\{(?:${LABEL_NAME}=${LABEL_VALUE}(?:,${LABEL_NAME}=${LABEL_VALUE})*,?)?\\})? (${FLOAT})(?: (-?\\d+))?$`,
);
const HELP = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  const re = new RegExp(`(${LABEL_NAME})=(${LABEL_VALUE})`, 'g');
  for (const m of text.matchAll(re)) {
    if (m[1] in out) throw new Error(`label ${m[1]} repeated`);
    out[m[1]] = m[2].slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/** Throws on the first line that breaks the format; returns the samples. */
function validateExposition(text: string): Sample[] {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seenFamilies: string[] = [];
  const samples: Sample[] = [];
  const seenSeries = new Set<string>();
  const familyOf = (name: string) => {
    for (const [family, type] of types) {
      if (name === family) return family;
      if (type === 'histogram' && [`${family}_bucket`, `${family}_sum`, `${family}_count`].includes(name))
        return family;
    }
    return undefined;
  };
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line === '') throw new Error(`${where}: empty line`);
    if (line.startsWith('#')) {
      const help = HELP.exec(line);
      const type = TYPE.exec(line);
      if (help) {
        if (helps.has(help[1])) throw new Error(`${where}: second HELP`);
        helps.add(help[1]);
      } else if (type) {
        if (types.has(type[1])) throw new Error(`${where}: second TYPE`);
        if (samples.some((s) => s.name === type[1] || s.name.startsWith(`${type[1]}_`)))
          throw new Error(`${where}: TYPE after samples of the metric`);
        types.set(type[1], type[2]);
      } else if (/^# (HELP|TYPE)/.test(line)) throw new Error(`${where}: malformed HELP/TYPE`);
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`${where}: not a valid sample line`);
    const [, name, labelText, value] = m;
    const labels = parseLabels(labelText);
    const family = familyOf(name);
    if (!family) throw new Error(`${where}: sample without a TYPE`);
    if (seenFamilies.length > 0 && seenFamilies[seenFamilies.length - 1] !== family && seenFamilies.includes(family))
      throw new Error(`${where}: samples of ${family} are not contiguous`);
    if (seenFamilies[seenFamilies.length - 1] !== family) seenFamilies.push(family);
    if (types.get(family) === 'histogram' && name.endsWith('_bucket') && !('le' in labels))
      throw new Error(`${where}: histogram bucket without le`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`${where}: duplicate series`);
    seenSeries.add(key);
    samples.push({ name, labels, value: value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : Number(value) });
  });
  // Histograms: cumulative buckets ending at +Inf equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const [k, buckets] of groups) {
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
      if (les[les.length - 1] !== Infinity) throw new Error(`${family}${k}: last bucket is not +Inf`);
      for (let i = 1; i < buckets.length; i++) {
        if (!(les[i] > les[i - 1])) throw new Error(`${family}${k}: le not increasing`);
        if (buckets[i].value < buckets[i - 1].value) throw new Error(`${family}${k}: buckets not cumulative`);
      }
      const count = samples.find(
        (s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k,
      );
      if (!count || count.value !== buckets[buckets.length - 1].value)
        throw new Error(`${family}${k}: _count ≠ +Inf bucket`);
    }
  }
  return samples;
}

describe('the Prometheus validator of this test', () => {
  it('rejects what the format forbids', () => {
    const ok = '# HELP x_total A thing.\n# TYPE x_total counter\nx_total{a="b\\"c"} 1\n';
    expect(validateExposition(ok)).toHaveLength(1);
    expect(() => validateExposition(ok.slice(0, -1))).toThrow(/newline/);
    expect(() => validateExposition('# TYPE x gauge\nx{a="b"c"} 1\n')).toThrow(/not a valid sample/);
    expect(() => validateExposition('# TYPE x gauge\nx 1 2 3\n')).toThrow(/not a valid sample/);
    expect(() => validateExposition('x 1\n')).toThrow(/without a TYPE/);
    expect(() => validateExposition('# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n')).toThrow(/duplicate/);
    expect(() => validateExposition('# TYPE 1x gauge\n')).toThrow(/malformed/);
    expect(() =>
      validateExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    ).toThrow(/cumulative/);
  });
});

describe.each(DIALECTS)('GET metrics on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let handler: (r: Request) => Promise<Response>;
  const get = (token?: string) =>
    handler(new Request('http://test/api/metrics', { headers: token ? { authorization: `Bearer ${token}` } : {} }));

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      onRecordError: 'throw',
      realtime: 'memory',
    });
    handler = createHandler(tasks, { getUser, prefix: '/api', metricsToken: SCRAPE_TOKEN });
    const plan: Array<[string, string, TaskStatusValue, number | null]> = [
      ['billing', 'billing.send_invoice', 'SUCCESS', 0.05],
      ['billing', 'billing.send_invoice', 'SUCCESS', 2],
      ['billing', 'billing.send_invoice', 'FAILURE', 45],
      ['billing', 'billing.refund', 'PENDING', null],
      ['mail', 'mail."digest"\\weekly', 'STARTED', null], // label values that need escaping
      ['mail', 'mail.digest', 'SUCCESS', 4000],
      ['reports', 'reports.build', 'REVOKED', 0.7],
    ];
    let n = 0;
    for (const [module, taskName, status, seconds] of plan) {
      const taskId = `m-${++n}`;
      await tasks.registerTaskExecution({ taskId, taskName, module, createdBy: { id: 1 } });
      if (status !== 'PENDING') await tasks.tracker.updateTaskStatus(taskId, status === 'REVOKED' ? 'STARTED' : status);
      if (status === 'REVOKED') await tasks.tracker.updateTaskStatus(taskId, 'REVOKED');
      if (seconds !== null) {
        const started = new Date(Date.UTC(2030, 0, 1, 0, 0, 0));
        const finished = new Date(started.getTime() + seconds * 1000);
        await tasks.db
          .updateTable('agentcore_task_execution')
          .set({
            started_at: tasks.dialect.toDbDate(started) as never,
            finished_at: tasks.dialect.toDbDate(finished) as never,
          })
          .where('task_id', '=', taskId)
          .execute();
      }
    }
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('is valid exposition format whose counts equal the database counts', async () => {
    const response = await get('admin');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = validateExposition(await response.text());

    const rows = await sql<{ status: string; module: string; task_name: string; n: number | string }>`
      select status, module, task_name, count(*) as n from agentcore_task_execution group by status, module, task_name`.execute(
      tasks.db,
    );
    const runs = samples.filter((s) => s.name === 'agentcore_task_runs');
    expect(runs).toHaveLength(rows.rows.length);
    for (const row of rows.rows) {
      const sample = runs.find(
        (s) => s.labels.status === row.status && s.labels.module === row.module && s.labels.task_name === row.task_name,
      );
      expect(sample?.value, JSON.stringify(row)).toBe(Number(row.n));
    }
    expect(runs.find((s) => s.labels.task_name === 'mail."digest"\\weekly')?.value).toBe(1);

    // The histogram: per task name, counts by bucket as planned; _count = finished runs; _sum = their durations.
    const bucket = (taskName: string, le: string) =>
      samples.find(
        (s) =>
          s.name === 'agentcore_task_run_duration_seconds_bucket' &&
          s.labels.task_name === taskName &&
          s.labels.le === le,
      )?.value;
    expect(bucket('billing.send_invoice', '0.1')).toBe(1);
    expect(bucket('billing.send_invoice', '5')).toBe(2);
    expect(bucket('billing.send_invoice', '30')).toBe(2);
    expect(bucket('billing.send_invoice', '60')).toBe(3);
    expect(bucket('billing.send_invoice', '+Inf')).toBe(3);
    expect(bucket('mail.digest', '3600')).toBe(0);
    expect(bucket('mail.digest', '21600')).toBe(1);
    const sum = samples.find(
      (s) => s.name === 'agentcore_task_run_duration_seconds_sum' && s.labels.task_name === 'billing.send_invoice',
    );
    expect(sum?.value).toBeCloseTo(47.05, 1);
    const counted = samples
      .filter((s) => s.name === 'agentcore_task_run_duration_seconds_count')
      .reduce((n, s) => n + s.value, 0);
    const finished = await sql<{ n: number | string }>`
      select count(*) as n from agentcore_task_execution where started_at is not null and finished_at is not null`.execute(
      tasks.db,
    );
    expect(counted).toBe(Number(finished.rows[0].n));
    expect(samples.find((s) => s.name === 'agentcore_task_open_streams')?.value).toBe(0);
  });

  it('counts open streams', async () => {
    const stream = await handler(
      new Request('http://test/api/executions/stream/', { headers: { authorization: 'Bearer a' } }),
    );
    const samples = validateExposition(await (await get(SCRAPE_TOKEN)).text());
    expect(samples.find((s) => s.name === 'agentcore_task_open_streams')?.value).toBe(1);
    await stream.body?.cancel();
  });

  it('is for admins or the scrape token only', async () => {
    expect((await get('a')).status).toBe(403);
    expect((await get()).status).toBe(401);
    expect((await get('wrong-token')).status).toBe(401);
    expect((await get(SCRAPE_TOKEN)).status).toBe(200);
    const noToken = createHandler(tasks, { getUser });
    const r = await noToken(new Request('http://test/metrics', { headers: { authorization: 'Bearer a' } }));
    expect(r.status).toBe(403);
  });

  it('caps task-name series: the names with most runs keep theirs, the rest fold into __other__, totals exact', async () => {
    const capped = createHandler(tasks, { getUser, prefix: '/api', metricsMaxTaskNames: 2 });
    const response = await capped(
      new Request('http://test/api/metrics', { headers: { authorization: 'Bearer admin' } }),
    );
    const samples = validateExposition(await response.text());
    const runs = samples.filter((s) => s.name === 'agentcore_task_runs');
    const names = new Set(runs.map((s) => s.labels.task_name));
    // billing.send_invoice has 3 runs; the ties at 1 go by name, so billing.refund is the second kept.
    expect([...names].sort()).toEqual(['__other__', 'billing.refund', 'billing.send_invoice']);
    const total = await sql<{ n: number | string }>`select count(*) as n from agentcore_task_execution`.execute(
      tasks.db,
    );
    expect(runs.reduce((n, s) => n + s.value, 0)).toBe(Number(total.rows[0].n));
    // Folded per module: mail's two names are one series per status, reports' one.
    const other = runs.filter((s) => s.labels.task_name === '__other__');
    expect(other.map((s) => `${s.labels.module}/${s.labels.status}=${s.value}`).sort()).toEqual([
      'mail/STARTED=1',
      'mail/SUCCESS=1',
      'reports/REVOKED=1',
    ]);
    const histogramNames = new Set(
      samples.filter((s) => s.name === 'agentcore_task_run_duration_seconds_count').map((s) => s.labels.task_name),
    );
    expect([...histogramNames].sort()).toEqual(['__other__', 'billing.send_invoice']);
    const counted = samples
      .filter((s) => s.name === 'agentcore_task_run_duration_seconds_count')
      .reduce((n, s) => n + s.value, 0);
    const finished = await sql<{ n: number | string }>`
      select count(*) as n from agentcore_task_execution where started_at is not null and finished_at is not null`.execute(
      tasks.db,
    );
    expect(counted).toBe(Number(finished.rows[0].n));
    expect(samples.find((s) => s.name === 'agentcore_task_folded_task_names')?.value).toBe(3);
    // The default keeps all five names here.
    const all = validateExposition(await (await get('admin')).text());
    expect(all.find((s) => s.name === 'agentcore_task_folded_task_names')?.value).toBe(0);
  });
});
