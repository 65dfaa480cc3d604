/**
 * Generated runs as JSON Lines in the REST detail wire format, and loading them through `import` (the bench's way of
 * filling a database, issue 17). The mix follows bench/support/generate.ts: 30 days of history, 20 modules (skewed),
 * 10 task names per module, 1,000 users (skewed: user 1 has the most runs), 5 % system runs with no creator, 98 %
 * completed (90 % SUCCESS, 8 % FAILURE, 2 % REVOKED), 2 % running or waiting in the last hour. Deterministic (seeded).
 * In creation order, as a history export is (the Django export query in docs/SCALING.md orders by id): each call's runs
 * cover the 30 days from oldest to newest, busier by day than by night. `BENCH_IMPORT_ORDER=random` writes them in random time order instead (every
 * index insert at a random place: about a quarter slower at 1M runs).
 *
 * As a script: `node --import tsx bench/support/runs-jsonl.ts N [FROM] > runs.jsonl` writes N runs
 * (`bench-FROM` … ), for `agentcore-task import runs.jsonl`.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { type ImportSummary, importJsonLines } from '../../src/store/import.js';
import { prng } from '../../test/helpers/prng.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Runs still running or waiting (all of them in the last hour). */
const RUNNING_SHARE = 0.02;

/**
 * Where `q` in [0, 1) of the runs fall in the 30 days, still in order but bunched by day: busy hours hold nine times
 * as many runs as quiet ones (`q` plus a sine with one period a day, whose slope keeps the mapping increasing).
 */
function dailyCycle(q: number): number {
  const days = 30;
  return q + (0.8 * Math.sin(2 * Math.PI * days * q)) / (2 * Math.PI * days);
}

/**
 * Run number `i` (1-based) as one JSON line, times relative to `now`. `place` in [0, 1) is where it falls in its
 * batch of lines (oldest first); `undefined`: a random time.
 */
export function runLine(i: number, now: number, random: () => number, place?: number): string {
  const m = Math.floor(20 * random() ** 1.5);
  const t = Math.floor(10 * random());
  const u = random() < 0.05 ? null : 1 + Math.floor(1000 * random() ** 1.3);
  const d = 1 + Math.floor(60 * random());
  const r3 = random();
  const running = place === undefined ? random() < 0.02 : place >= 1 - RUNNING_SHARE;
  const status = running
    ? r3 < 0.5
      ? 'STARTED'
      : r3 < 0.85
        ? 'PENDING'
        : 'RETRY'
    : r3 < 0.9
      ? 'SUCCESS'
      : r3 < 0.98
        ? 'FAILURE'
        : 'REVOKED';
  const created =
    place === undefined
      ? running
        ? now - random() * HOUR
        : now - random() * 30 * DAY
      : running
        ? now - HOUR + ((place - (1 - RUNNING_SHARE)) / RUNNING_SHARE) * HOUR
        : now - 30 * DAY + dailyCycle(place / (1 - RUNNING_SHARE)) * (30 * DAY - HOUR);
  const iso = (ms: number) => new Date(Math.floor(ms)).toISOString();
  const completed = !running;
  return JSON.stringify({
    task_id: `bench-${i}`,
    task_name: `module_${m}.task_${t}`,
    module: `module_${m}`,
    status,
    created_at: iso(created),
    started_at: status === 'PENDING' ? null : iso(created + 2000),
    finished_at: completed ? iso(created + d * 1000) : null,
    task_args: [],
    task_kwargs: { n: i, user: u },
    result: status === 'SUCCESS' ? { ok: true, items: i % 97 } : null,
    error: status === 'FAILURE' ? `ValueError: bad input ${i}` : null,
    traceback:
      status === 'FAILURE' ? 'Error: bad input\n    at process (worker.js:12:7)\n    at run (worker.js:40:3)' : null,
    created_by_id: u,
    created_by_username: u === null ? null : `user${u}`,
    queue_name: `module_${m}`,
    metadata: { progress_percent: completed ? 100 : 40, progress_message: `step ${t}`, tenant: `tenant_${i % 50}` },
  });
}

/**
 * Writes runs `from` … `from + rows - 1` to `out`, oldest first (or in random time order with
 * `BENCH_IMPORT_ORDER=random`), respecting backpressure.
 */
export async function writeRuns(out: Writable, rows: number, from = 1, now = Date.now()): Promise<void> {
  const random = prng(from);
  const ordered = process.env.BENCH_IMPORT_ORDER !== 'random';
  const chunk: string[] = [];
  for (let i = from; i < from + rows; i++) {
    chunk.push(runLine(i, now, random, ordered ? (i - from) / rows : undefined));
    if (chunk.length === 1000 || i === from + rows - 1) {
      const ok = out.write(`${chunk.join('\n')}\n`);
      chunk.length = 0;
      if (!ok) await new Promise((resolve) => out.once('drain', resolve));
    }
  }
}

/**
 * Loads `rows` generated runs (`bench-from` …) into `store` through the import path: written to a temporary JSON Lines
 * file first (so generation is not timed), then streamed through `importJsonLines`. Returns the import summary.
 */
export async function loadRuns(store: ExecutionStore, rows: number, from = 1): Promise<ImportSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'act-bench-runs-'));
  const file = join(dir, 'runs.jsonl');
  try {
    const out = createWriteStream(file);
    await writeRuns(out, rows, from);
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    return await importJsonLines(store, createReadStream(file, { highWaterMark: 1 << 20 }), { batchSize: 2000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const rows = Number(process.argv[2] ?? 1000);
  const from = Number(process.argv[3] ?? 1);
  await writeRuns(process.stdout, rows, from);
}
