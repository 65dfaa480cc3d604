/** Shared pieces of the benchmarks: timing, percentiles, the result table and bench/results.json. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { DEFAULT_POOL_SIZE } from '../src/store/connect.js';

/** One line of the result table: ours beside its baseline, measured in the same run on the same services. */
export interface BenchRow {
  part: string;
  case: string;
  /** What is measured, e.g. `rows/s` or `p95 ms`. */
  unit: string;
  ours: number;
  baseline: number | null;
  /** ours / baseline: for throughput higher is better, for latency lower is better; null without baseline. */
  ratio: number | null;
  goal: string;
  pass: boolean | null;
  note?: string;
}

export const rows: BenchRow[] = [];

/**
 * A `pg.Pool` for a raw-driver baseline, the same size as the library's. An idle connection killed from outside
 * (other test suites share the server) is replaced on the next query instead of crashing the run.
 */
export function rawPgPool(url: string, max = DEFAULT_POOL_SIZE): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {});
  return pool;
}
/** Everything else a part wants in results.json (query plans, sizes, memory), by part. */
export const details: Record<string, unknown> = {};

/** Adds a throughput row (higher is better): ratio = ours / baseline. */
export function throughput(
  part: string,
  name: string,
  unit: string,
  ours: number,
  baseline: number,
  minRatio: number | null,
  note?: string,
) {
  const ratio = ours / baseline;
  rows.push({
    part,
    case: name,
    unit,
    ours,
    baseline,
    ratio,
    goal: minRatio === null ? '' : `≥ ${minRatio}× baseline`,
    pass: minRatio === null ? null : ratio >= minRatio,
    note,
  });
}

/** Adds a latency row (lower is better): ratio = ours / baseline, goal is a maximum multiple. */
export function latency(
  part: string,
  name: string,
  unit: string,
  ours: number,
  baseline: number | null,
  maxMultiple: number | null,
  note?: string,
) {
  const ratio = baseline ? ours / baseline : null;
  rows.push({
    part,
    case: name,
    unit,
    ours,
    baseline,
    ratio,
    goal: maxMultiple === null ? '' : `≤ ${maxMultiple}× baseline`,
    pass: maxMultiple === null || ratio === null ? null : ratio <= maxMultiple,
    note,
  });
}

/** Adds a row with an absolute goal. */
export function absolute(
  part: string,
  name: string,
  unit: string,
  ours: number,
  goal: string,
  pass: boolean | null,
  note?: string,
) {
  rows.push({ part, case: name, unit, ours, baseline: null, ratio: null, goal, pass, note });
}

/** Adds a row with a baseline for context and an absolute goal (e.g. `p95 < 100 ms`). */
export function measured(
  part: string,
  name: string,
  unit: string,
  ours: number,
  baseline: number | null,
  goal: string,
  pass: boolean | null,
  note?: string,
) {
  rows.push({ part, case: name, unit, ours, baseline, ratio: baseline ? ours / baseline : null, goal, pass, note });
}

/** Runs `fn` for each of `count` items with at most `concurrency` in flight; returns items per second. */
export async function rate(count: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await fn(i);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/**
 * Runs each measurement `rounds` times, alternating between them so drift on a noisy machine hits all alike, and
 * returns the best result of each (throughput: the highest).
 */
export async function bestOf(rounds: number, runs: Array<(round: number) => Promise<number>>): Promise<number[]> {
  const best = runs.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of runs.entries()) best[i] = Math.max(best[i], await run(round));
  }
  return best;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), n: s.length };
}

const fmt = (n: number | null) =>
  n === null || Number.isNaN(n) ? '' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);

/** Prints the table and writes bench/results.json. */
export function report(path: string, extra: Record<string, unknown> = {}) {
  const header = ['part', 'case', 'unit', 'ours', 'baseline', 'ratio', 'goal', 'pass'];
  const table = rows.map((r) => [
    r.part,
    r.case,
    r.unit,
    fmt(r.ours),
    fmt(r.baseline),
    fmt(r.ratio),
    r.goal,
    r.pass === null ? '' : r.pass ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const t of table) console.log(line(t));
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  writeFileSync(
    path,
    `${JSON.stringify({ date: new Date().toISOString(), machine, rows, ...extra, details }, null, 2)}\n`,
  );
  console.log(`\nwrote ${path}`);
}

/** CPU seconds used so far by this process, by every `postgres` and `redis-server` process, and the machine's idle time. */
export interface CpuSample {
  node: number;
  postgres: number;
  redis: number;
  /** Idle CPU seconds summed over all cores (from /proc/stat). */
  idle: number;
  /** Wall clock, seconds. */
  wall: number;
}

const TICK = 100; // USER_HZ on Linux

/** A process's command name and CPU seconds (user + system) so far, from /proc/<pid>/stat; null if unreadable. */
function procStat(pid: number | string): { comm: string; cpuSeconds: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited meanwhile, or not Linux
  }
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, close),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICK, // utime + stime
  };
}

/**
 * Whether a `postgres` process counts for `database`: its client backends and autovacuum workers, and the server's
 * shared processes (checkpointer, WAL writer…); not the backends of other databases, which other work on a shared
 * machine keeps busy. Read from the process title in /proc/<pid>/cmdline.
 */
function postgresOf(pid: string, database: string): boolean {
  let title: string;
  try {
    title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return false;
  }
  const backend = /: \S+ (\S+) (?:[\d.:a-f]+\(\d+\)|\[local\])/.exec(title);
  if (backend) return backend[1] === database;
  const autovacuum = /autovacuum worker (\S+)/.exec(title);
  if (autovacuum) return autovacuum[1] === database;
  return true;
}

/**
 * Reads `CpuSample` from /proc (Linux only; elsewhere the server figures are NaN). With `database`, PostgreSQL counts
 * only that database's backends and the server's shared processes (see `postgresOf`).
 */
export function cpuSample(database?: string): CpuSample {
  const own = process.cpuUsage();
  let postgres = 0;
  let redis = 0;
  let idle = Number.NaN;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = procStat(pid);
      if (stat?.comm === 'postgres') {
        if (!database || postgresOf(pid, database)) postgres += stat.cpuSeconds;
      } else if (stat?.comm === 'redis-server') redis += stat.cpuSeconds;
    }
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    idle = (Number(cpu[4]) + Number(cpu[5])) / TICK; // idle + iowait
  } catch {
    postgres = redis = Number.NaN;
  }
  return { node: (own.user + own.system) / 1e6, postgres, redis, idle, wall: performance.now() / 1000 };
}

/** CPU seconds (user + system) used so far by one process, from /proc (Linux only; NaN elsewhere). */
export function processCpuSeconds(pid: number): number {
  return procStat(pid)?.cpuSeconds ?? Number.NaN;
}

/** Runs `load` and returns its result with the CPU microseconds `pid` spent per request meanwhile. */
export async function withServerCpu<T extends { samples: unknown[] }>(
  pid: number,
  load: () => Promise<T>,
): Promise<T & { cpuUs: number }> {
  const before = processCpuSeconds(pid);
  const result = await load();
  const cpuUs = ((processCpuSeconds(pid) - before) / result.samples.length) * 1e6;
  return { ...result, cpuUs };
}

/** CPU microseconds per item spent by each process between two samples, and the machine's busy share (0–1). */
export function cpuPerItem(before: CpuSample, after: CpuSample, items: number) {
  const us = (a: number, b: number) => Math.round(((b - a) / items) * 1e6);
  const wall = after.wall - before.wall;
  return {
    node_us: us(before.node, after.node),
    postgres_us: us(before.postgres, after.postgres),
    redis_us: us(before.redis, after.redis),
    machine_busy: Number((1 - (after.idle - before.idle) / (wall * os.cpus().length)).toFixed(2)),
  };
}
