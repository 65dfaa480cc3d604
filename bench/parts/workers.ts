/**
 * Part 8 — `serve --workers` (issue 15). Generated runs loaded through `import` into a PostgreSQL database of the
 * bench's own, then the real `agentcore-task serve` started as a subprocess twice, with `--workers 1` and
 * `--workers 2`, both idle while the other is measured. The detail route and the staff list are measured at 16
 * keep-alive connections against each, alternating round by round so drift on a noisy machine hits both alike; the
 * best round of each counts. Rows: 2 workers beside 1 worker (the baseline), req/s and p95, p50 in the note.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { details, latency, processCpuSeconds, rawPgPool, summarize, throughput } from '../lib.js';
import { closedLoop, get } from '../support/http.js';
import { loadRuns } from '../support/runs-jsonl.js';

const PART = '8 serve --workers';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const ADMIN_TOKEN = 'bench-workers-admin';
const CONNECTIONS = 16;

/** A running `agentcore-task serve`: its API base URL and a clean stop (SIGTERM, every worker drains). */
interface ServeProcess {
  url: string;
  /** CPU seconds used so far by serve and the workers it forked (Linux /proc). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Starts `serve --workers N` the way an operator would (the CLI, not the library); resolves once it listens. */
async function startServe(database: string, usersFile: string, workers: number): Promise<ServeProcess> {
  const env = { ...process.env };
  // Redis would add BullMQ sync and a second change feed: this part measures the plain PostgreSQL setup.
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      'serve',
      '--database',
      database,
      '--users',
      usersFile,
      '--port',
      '0',
      '--workers',
      String(workers),
    ],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    exited.then((code) => reject(new Error(`serve --workers ${workers} exited with ${code}: ${stderr.trim()}`)));
    lines.on('line', (line) => {
      const m = /listening on (\S+?)\/? /.exec(line);
      if (m) resolve(m[1]);
    });
  });
  return {
    url,
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      // SIGTERM drains every worker; a server that does not stop within the grace period is a finding, not a hang.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`serve --workers ${workers} exited with ${code} on SIGTERM: ${stderr.trim()}`);
    },
  };
}

/** CPU seconds of a process and its children, recursively (the primary of `--workers` and its workers). */
function treeCpuSeconds(pid: number): number {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // Gone meanwhile: counted as nothing more.
  }
  return (processCpuSeconds(pid) || 0) + children.reduce((sum, c) => sum + treeCpuSeconds(c), 0);
}

interface Measured {
  perSecond: number;
  p50: number;
  p95: number;
  requests: number;
  /** CPU microseconds per request of serve and its workers together. */
  cpuUs: number;
  /** The machine's 1-minute load average when the round ended (other work on the machine shows here). */
  load1: number;
}

export async function workers(opts: { rows: number; windowMs: number; rounds: number }) {
  const db = await createTestDatabase('postgres');
  const dir = mkdtempSync(join(tmpdir(), 'act-bench-workers-'));
  const usersFile = join(dir, 'users.json');
  writeFileSync(usersFile, JSON.stringify([{ token: ADMIN_TOKEN, id: 900001, username: 'admin', is_admin: true }]));
  const tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
  const pool = rawPgPool(db.url, 2);
  const servers: Array<{ workers: number; serve: ServeProcess }> = [];
  try {
    const load = await loadRuns(tasks.tracker.store, opts.rows);
    await tasks.close();
    await pool.query('vacuum analyze agentcore_task_execution');
    await pool.query('vacuum analyze agentcore_task_stats');
    const ids = (
      await pool.query<{ id: string }>('select id from agentcore_task_execution order by random() limit 500')
    ).rows.map((r) => r.id);

    for (const n of [1, 2]) servers.push({ workers: n, serve: await startServe(db.url, usersFile, n) });

    const routes = [
      { name: 'detail', path: (i: number) => `/executions/${ids[i % ids.length]}/` },
      { name: 'staff list', path: () => '/executions/?my_tasks=false' },
    ];
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const best: Record<string, Record<number, Measured>> = {};
    for (let round = 0; round < opts.rounds; round++) {
      for (const route of routes) {
        // Odd rounds measure 2 workers first, so neither always runs right after the other's load.
        for (const { workers: n, serve } of round % 2 === 0 ? servers : [...servers].reverse()) {
          const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
          const send = async (i: number) => {
            const res = await get(agent, serve.url + route.path(i), headers);
            if (res.status !== 200) throw new Error(`${route.name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
          };
          // Warm up: opens the 16 connections (spread over the workers) and each worker's pool, plans and JIT.
          await closedLoop({ concurrency: CONNECTIONS, durationMs: 500, minRequests: CONNECTIONS * 5, send });
          const cpuBefore = serve.cpuSeconds();
          const result = await closedLoop({
            concurrency: CONNECTIONS,
            durationMs: opts.windowMs,
            minRequests: CONNECTIONS * 5,
            send,
          });
          const cpuUs = ((serve.cpuSeconds() - cpuBefore) / result.samples.length) * 1e6;
          agent.destroy();
          const s = summarize(result.samples);
          best[route.name] ??= {};
          if (result.perSecond > (best[route.name][n]?.perSecond ?? 0))
            best[route.name][n] = {
              perSecond: result.perSecond,
              p50: s.p50,
              p95: s.p95,
              requests: s.n,
              cpuUs,
              load1: loadavg()[0],
            };
        }
      }
    }

    const cores = availableParallelism();
    const shared = `${cores} cores shared by the load generator (this process), PostgreSQL and the workers`;
    for (const route of routes) {
      const [one, two] = [best[route.name][1], best[route.name][2]];
      throughput(
        PART,
        `${route.name} @${CONNECTIONS}: 2 workers vs 1`,
        'req/s',
        two.perSecond,
        one.perSecond,
        null,
        `p50 ${two.p50.toFixed(2)}/${one.p50.toFixed(2)} ms, server CPU per request ${Math.round(two.cpuUs)}/` +
          `${Math.round(one.cpuUs)} µs (2/1 workers); ${shared}; load average ${two.load1.toFixed(1)}/${one.load1.toFixed(1)}`,
      );
      latency(
        PART,
        `${route.name} @${CONNECTIONS}: 2 workers vs 1`,
        'p95 ms',
        two.p95,
        one.p95,
        null,
        `best of ${opts.rounds} rounds of ${opts.windowMs / 1000} s each`,
      );
    }
    // Stopped with SIGTERM, one after the other; each must drain and exit 0 (a server that does not is an error).
    while (servers.length > 0) await servers.shift()!.serve.stop();
    details.workers = {
      rows: opts.rows,
      importRowsPerSecond: load.rowsPerSecond,
      connections: CONNECTIONS,
      cores,
      windowMs: opts.windowMs,
      rounds: opts.rounds,
      results: best,
    };
  } finally {
    // After a failure: stop what is left without hiding the first error.
    for (const { serve } of servers) await serve.stop().catch(() => {});
    await tasks.close().catch(() => {});
    await pool.end().catch(() => {});
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
