/**
 * Writes progress at a steady rate from its own process (as a worker on another machine would), for the live-stream
 * benchmark. Environment: `DATABASE_URL`, `REALTIME`, `RATE` (updates/s), `DURATION_MS`, `RUNS` (task ids
 * `sse-1` … `sse-RUNS`, updated round robin). Each update carries `bench_seq` and `bench_sent` (epoch ms, fractional) in its
 * metadata. Prints `{"sent":N,"maxLagMs":M}` at the end (how far behind schedule a send ever started).
 */
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import type { RealtimeOption } from '../../src/realtime/select.js';

const rate = Number(process.env.RATE ?? 100);
const duration = Number(process.env.DURATION_MS ?? 10_000);
const runs = Number(process.env.RUNS ?? 1000);
const tasks = await createAgentcoreTask({
  database: process.env.DATABASE_URL,
  realtime: (process.env.REALTIME ?? 'postgres') as RealtimeOption,
  logger: silentLogger,
  env: {},
  migrate: false,
});
const total = Math.round((rate * duration) / 1000);
const started = performance.now();
let maxLag = 0;
const writes: Array<Promise<unknown>> = [];
for (let k = 0; k < total; k++) {
  const due = started + (k * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  maxLag = Math.max(maxLag, performance.now() - due);
  writes.push(
    tasks.tracker.reportProgress(`sse-${(k % runs) + 1}`, {
      percent: k % 101,
      bench_seq: k,
      // Sub-millisecond wall-clock time, comparable with the receiving process's.
      bench_sent: performance.timeOrigin + performance.now(),
    }),
  );
}
await Promise.all(writes);
await tasks.close();
process.stdout.write(`${JSON.stringify({ sent: total, maxLagMs: Math.round(maxLag) })}\n`);
