/**
 * Part 3 — read path. Generated runs loaded through `import` into PostgreSQL, size by size (100k, 1M, optionally 10M,
 * or `--rows N`), with the size curve of the dashboard's reads measured at each size (`measureCurve`). Then, at the
 * largest size: the REST API served by its own process; each request
 * type measured over HTTP at 1 and 16 connections (p50/p95/p99, req/s), beside the raw SQL of the same query(ies)
 * run through `pg` at the same concurrency with the same pool size. The SQL is captured from the library itself
 * (the tracker call behind each route, through a logging Kysely), so both sides run exactly the same statements.
 * A second baseline isolates the cost of HTTP itself: the same statements behind a bare `node:http` + `pg` server
 * (bench/support/raw-server.ts). EXPLAIN of the list queries goes into results.json, and the table says whether
 * they use indexes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect } from 'kysely';
import { createAgentcoreTask, silentLogger, type TaskTracker } from '../../src/index.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { absolute, details, latency, rawPgPool, summarize, throughput, withServerCpu } from '../lib.js';
import { type ChildServer, closedLoop, get, startServerProcess } from '../support/http.js';
import { loadRuns } from '../support/runs-jsonl.js';

const PART = '3 read path';
const RAW_SERVER = fileURLToPath(new URL('../support/raw-server.ts', import.meta.url));
const OWN_USER = 1; // the user with the most runs in the generated data
const ADMIN = 'admin:900001';

interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

interface ReadCase {
  name: string;
  /** Maximum p95 multiple of raw SQL, or null (stats: the goal is a constant number of queries). */
  goal: number | null;
  auth: string;
  path: (i: number) => string;
  /** The tracker call behind the route (its SQL is captured once). */
  call: (tracker: TaskTracker, i: number) => Promise<unknown>;
  /** Parameters of the raw statements for request `i` (default: as captured). */
  params?: (captured: readonly unknown[], i: number) => unknown[];
}

/** One request shape of the size curve (issue 17): measured over HTTP at every size. */
interface CurveCase {
  name: string;
  auth: string;
  path: (i: number) => string;
}

/**
 * The size curve: at each size, p50/p95 and req/s of the reads an admin's dashboard and a user make, at 1 and 16
 * connections. Goal: p95 at the largest size ≤ 1.5× p95 at the smallest.
 */
async function measureCurve(
  base: string,
  cases: CurveCase[],
  size: number,
  windowMs: number,
  curve: Record<string, Record<number, { p50: number; p95: number; perSecond: number }>>,
) {
  for (const c of cases) {
    for (const concurrency of [1, 16]) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      const headers = { authorization: `Bearer ${c.auth}` };
      const send = async (i: number) => {
        const res = await get(agent, base + c.path(i), headers);
        if (res.status !== 200) throw new Error(`${c.name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      };
      await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send });
      const load = await closedLoop({ concurrency, durationMs: windowMs, minRequests: concurrency * 5, send });
      agent.destroy();
      const s = summarize(load.samples);
      const key = `${c.name} @${concurrency}`;
      curve[key] ??= {};
      curve[key][size] = { p50: s.p50, p95: s.p95, perSecond: load.perSecond };
      absolute(
        PART,
        `${key}, ${size.toLocaleString('en')} rows`,
        'p95 ms',
        s.p95,
        '',
        null,
        `p50 ${s.p50.toFixed(2)} ms, ${Math.round(load.perSecond)} req/s`,
      );
    }
  }
}

export async function readPath(opts: { sizes: number[]; windowMs: number }) {
  const rowsTotal = opts.sizes[opts.sizes.length - 1];
  const db = await createTestDatabase('postgres');
  const captured: Statement[] = [];
  let capturing = false;
  const pool = rawPgPool(db.url);
  const kysely = new Kysely<never>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (capturing && event.level === 'query')
        captured.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  const tasks = await createAgentcoreTask({
    database: { kysely, dialect: 'postgres' },
    realtime: false,
    logger: silentLogger,
    env: {},
  });
  const server = await startServerProcess({ DATABASE_URL: db.url, REALTIME: 'false' });
  const base = `http://127.0.0.1:${server.port}`;
  let rawServer: ChildServer | undefined;
  const curve: Record<string, Record<number, { p50: number; p95: number; perSecond: number }>> = {};
  const loads: Record<number, { seconds: number; rowsPerSecond: number }> = {};
  try {
    // The runs are loaded through import (bench/support/runs-jsonl.ts), size by size, and the curve measured at each.
    let loaded = 0;
    for (const size of opts.sizes) {
      const summary = await loadRuns(tasks.tracker.store, size - loaded, loaded + 1);
      loads[size] = { seconds: summary.seconds, rowsPerSecond: summary.rowsPerSecond };
      throughput(
        PART,
        `import ${(size - loaded).toLocaleString('en')} rows`,
        'rows/s',
        summary.rowsPerSecond,
        20_000,
        1,
        'goal 20,000 rows/s',
      );
      loaded = size;
      // Settled as a real table is between bursts (autovacuum would otherwise run during the measurements): the runs
      // and the aggregates their import kept up to date.
      await pool.query('vacuum analyze agentcore_task_execution');
      await pool.query('vacuum analyze agentcore_task_stats');
      const sample = await pool.query<{ id: string }>(
        'select id from agentcore_task_execution where created_by_id = $1 order by random() limit 200',
        [String(OWN_USER)],
      );
      const sampleIds = sample.rows.map((r) => Number(r.id));
      const deep = (await tasks.tracker.listTaskExecutions({}, { page: 199 })).nextCursor ?? '';
      await measureCurve(
        base,
        [
          { name: 'own list', auth: `user:${OWN_USER}`, path: () => '/executions/' },
          { name: 'staff list all', auth: ADMIN, path: () => '/executions/?my_tasks=false' },
          {
            name: 'staff list filtered',
            auth: ADMIN,
            path: () => '/executions/?my_tasks=false&module=module_3&status=FAILURE',
          },
          {
            name: 'staff list deep page (cursor, page 200)',
            auth: ADMIN,
            path: () => `/executions/?my_tasks=false&cursor=${deep}`,
          },
          { name: 'own stats', auth: `user:${OWN_USER}`, path: () => '/executions/stats/' },
          { name: 'staff stats all', auth: ADMIN, path: () => '/executions/stats/?my_tasks=false' },
          {
            name: 'staff stats filtered, day series',
            auth: ADMIN,
            path: () => '/executions/stats/?my_tasks=false&module=module_3&status=FAILURE&granularity=day',
          },
          { name: 'detail', auth: `user:${OWN_USER}`, path: (i) => `/executions/${sampleIds[i % sampleIds.length]}/` },
        ],
        size,
        opts.windowMs,
        curve,
      );
    }
    if (opts.sizes.length > 1) {
      const [small, large] = [opts.sizes[0], opts.sizes[opts.sizes.length - 1]];
      for (const [key, bySize] of Object.entries(curve)) {
        const ratio = bySize[large].p95 / bySize[small].p95;
        absolute(
          PART,
          `${key}: p95 at ${large.toLocaleString('en')} / ${small.toLocaleString('en')} rows`,
          '×',
          ratio,
          '≤ 1.5',
          ratio <= 1.5,
        );
      }
    }
    const own = await pool.query<{ id: string; task_id: string }>(
      'select id, task_id from agentcore_task_execution where created_by_id = $1 order by random() limit 500',
      [String(OWN_USER)],
    );
    const ids = own.rows.map((r) => Number(r.id));
    const taskIds = own.rows.map((r) => r.task_id);
    const ownCount = Number(
      (
        await pool.query('select count(*) as n from agentcore_task_execution where created_by_id = $1', [
          String(OWN_USER),
        ])
      ).rows[0].n,
    );
    const cases: ReadCase[] = [
      {
        name: 'own list page 1',
        goal: 3,
        auth: `user:${OWN_USER}`,
        path: () => '/executions/',
        call: (t) => t.listTaskExecutions({ createdById: OWN_USER }, {}),
      },
      {
        name: 'admin list my_tasks=false&module&status',
        goal: 3,
        auth: ADMIN,
        path: () => '/executions/?my_tasks=false&module=module_3&status=FAILURE',
        call: (t) => t.listTaskExecutions({ module: 'module_3', status: 'FAILURE' }, {}),
      },
      {
        name: 'detail',
        goal: 3,
        auth: `user:${OWN_USER}`,
        path: (i) => `/executions/${ids[i % ids.length]}/`,
        call: (t, i) => t.getById(ids[i % ids.length]),
        params: (_, i) => [ids[i % ids.length]],
      },
      {
        name: 'status?sync=false',
        goal: 3,
        auth: `user:${OWN_USER}`,
        path: (i) => `/executions/status/?task_id=${encodeURIComponent(taskIds[i % taskIds.length])}&sync=false`,
        call: (t, i) => t.getTask(taskIds[i % taskIds.length]),
        params: (_, i) => [taskIds[i % taskIds.length]],
      },
      {
        name: 'own stats',
        goal: null,
        auth: `user:${OWN_USER}`,
        path: () => '/executions/stats/',
        call: (t) => t.getTaskStats({ createdById: OWN_USER }),
      },
      {
        name: 'admin stats (all rows)',
        goal: null,
        auth: ADMIN,
        path: () => '/executions/stats/?my_tasks=false',
        call: (t) => t.getTaskStats({}),
      },
    ];

    const plans: Record<string, string[][]> = {};
    const bareHttp: Record<string, unknown> = {};
    let listsUseIndexes = true;
    const captures: Statement[][] = [];
    for (const c of cases) {
      captured.length = 0;
      capturing = true;
      await c.call(tasks.tracker, 0);
      capturing = false;
      const statements = captured.splice(0);
      if (c.name.includes('list')) {
        plans[c.name] = [];
        for (const s of statements) {
          const { rows } = await pool.query(`explain ${s.sql}`, s.parameters as unknown[]);
          const plan = rows.map((r) => r['QUERY PLAN'] as string);
          plans[c.name].push([s.sql, ...plan]);
          const text = plan.join('\n');
          if (!/Index/.test(text) || /Seq Scan on agentcore_task_execution/.test(text)) listsUseIndexes = false;
        }
      }
      captures.push(statements);
    }

    // The second baseline: the same statements behind a bare HTTP server (see bench/support/raw-server.ts).
    const rawConfig = join(mkdtempSync(join(tmpdir(), 'act-bench-')), 'raw.json');
    writeFileSync(
      rawConfig,
      JSON.stringify({
        url: db.url,
        cases: cases.map((c, k) => ({
          statements: captures[k],
          variants: c.params ? Array.from({ length: ids.length }, (_, i) => c.params!([], i)) : undefined,
        })),
      }),
    );
    rawServer = await startServerProcess({ RAW_CONFIG: rawConfig }, RAW_SERVER);

    for (const [k, c] of cases.entries()) {
      const statements = captures[k];
      if (c.goal === null)
        absolute(
          PART,
          `${c.name}: SQL queries per request`,
          'queries',
          statements.length,
          'constant',
          statements.length <= 2,
          'grouped queries, whatever the number of modules or names',
        );

      for (const concurrency of [1, 16]) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
        const headers = { authorization: `Bearer ${c.auth}` };
        const send = async (i: number) => {
          const res = await get(agent, base + c.path(i), headers);
          if (res.status !== 200) throw new Error(`${c.name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
        };
        const bare = async (i: number) => {
          const res = await get(agent, `http://127.0.0.1:${rawServer!.port}/${k}/${i}`);
          if (res.status !== 200)
            throw new Error(`${c.name} (bare server): HTTP ${res.status} ${res.body.slice(0, 200)}`);
        };
        const raw = async (i: number) => {
          await Promise.all(
            statements.map((s) =>
              pool.query(s.sql, c.params ? c.params(s.parameters, i) : (s.parameters as unknown[])),
            ),
          );
        };
        // Warm up (connections, plans, JIT of both processes), then measure HTTP and raw back to back.
        await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send });
        await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send: raw });
        await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send: bare });
        const minRequests = concurrency * 5;
        const ours = await withServerCpu(server.pid, () =>
          closedLoop({ concurrency, durationMs: opts.windowMs, minRequests, send }),
        );
        const base_ = await closedLoop({ concurrency, durationMs: opts.windowMs, minRequests, send: raw });
        const bareLoad = await withServerCpu(rawServer!.pid, () =>
          closedLoop({ concurrency, durationMs: opts.windowMs, minRequests, send: bare }),
        );
        agent.destroy();
        const o = summarize(ours.samples);
        const r = summarize(base_.samples);
        const h = summarize(bareLoad.samples);
        const note =
          `p50 ${o.p50.toFixed(2)}/${r.p50.toFixed(2)}, p99 ${o.p99.toFixed(1)}/${r.p99.toFixed(1)} ms (ours/raw SQL); ` +
          `bare HTTP+pg server: p50 ${h.p50.toFixed(2)}, p95 ${h.p95.toFixed(2)} ms, ${Math.round(bareLoad.perSecond)} req/s; ` +
          `server CPU per request ${Math.round(ours.cpuUs)} µs, bare ${Math.round(bareLoad.cpuUs)} µs; ${statements.length} statement(s)`;
        bareHttp[`${c.name} @${concurrency}`] = { ...h, perSecond: bareLoad.perSecond, cpuUs: bareLoad.cpuUs };
        latency(PART, `${c.name} @${concurrency}`, 'p95 ms', o.p95, r.p95, c.goal, note);
        // Context for the goal: how much of the 3x budget HTTP itself takes (same statements, no library at all).
        if (c.goal !== null)
          latency(
            PART,
            `${c.name} @${concurrency}: bare HTTP+pg server`,
            'p95 ms',
            h.p95,
            r.p95,
            null,
            'context: node:http + pg, rows sent as JSON, nothing else; ratio to the same raw SQL',
          );
        throughput(
          PART,
          `${c.name} @${concurrency}`,
          'req/s',
          ours.perSecond,
          base_.perSecond,
          null,
          'HTTP vs raw SQL',
        );
      }
    }
    // The Express mount: the same detail request through `tasksExpress`, beside one bare Express route running the
    // same statement (context; the goal rows above use the Web handler).
    const detail = cases.findIndex((c) => c.name === 'detail');
    const expressServer = await startServerProcess({ DATABASE_URL: db.url, REALTIME: 'false', MOUNT: 'express' });
    const bareExpress = await startServerProcess({ RAW_CONFIG: rawConfig, FRAMEWORK: 'express' }, RAW_SERVER);
    try {
      for (const concurrency of [1, 16]) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
        const headers = { authorization: `Bearer ${cases[detail].auth}` };
        const via = (port: number, path: (i: number) => string) => async (i: number) => {
          const res = await get(agent, `http://127.0.0.1:${port}${path(i)}`, headers);
          if (res.status !== 200) throw new Error(`detail via Express: HTTP ${res.status} ${res.body.slice(0, 200)}`);
        };
        const mount = via(expressServer.port, cases[detail].path);
        const bare = via(bareExpress.port, (i) => `/${detail}/${i}`);
        await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send: mount });
        await closedLoop({ concurrency, durationMs: 0, minRequests: concurrency * 3, send: bare });
        const minRequests = concurrency * 5;
        const ours = await withServerCpu(expressServer.pid, () =>
          closedLoop({ concurrency, durationMs: opts.windowMs, minRequests, send: mount }),
        );
        const floor = await withServerCpu(bareExpress.pid, () =>
          closedLoop({ concurrency, durationMs: opts.windowMs, minRequests, send: bare }),
        );
        agent.destroy();
        const o = summarize(ours.samples);
        const f = summarize(floor.samples);
        latency(
          PART,
          `detail @${concurrency} through the Express mount`,
          'p95 ms',
          o.p95,
          f.p95,
          null,
          `context: baseline is one bare Express route running the same statement; p50 ${o.p50.toFixed(2)}/${f.p50.toFixed(2)} ms; ` +
            `server CPU per request ${Math.round(ours.cpuUs)}/${Math.round(floor.cpuUs)} µs`,
        );
        throughput(
          PART,
          `detail @${concurrency} through the Express mount`,
          'req/s',
          ours.perSecond,
          floor.perSecond,
          null,
          'Express mount vs a bare Express route',
        );
      }
    } finally {
      await expressServer.stop();
      await bareExpress.stop();
    }
    absolute(
      PART,
      'list queries use indexes (EXPLAIN)',
      'bool',
      listsUseIndexes ? 1 : 0,
      'index scans only',
      listsUseIndexes,
      'plans in results.json',
    );
    details.readPath = {
      rows: rowsTotal,
      sizes: opts.sizes,
      loads,
      curve,
      ownUser: OWN_USER,
      ownUserRows: ownCount,
      windowMs: opts.windowMs,
      bareHttp,
      plans,
    };
  } finally {
    await rawServer?.stop();
    await server.stop();
    await tasks.close();
    await kysely.destroy().catch(() => {});
    await db.drop();
  }
}
