/**
 * `npm run bench`: runs the benchmark parts, prints one table and writes bench/results.json. Every figure is a ratio
 * against a baseline measured in the same run on the same services (machines here are noisy).
 * Choose parts with `--only 1,6`; scale with `--scale 0.1` for a quick look. Part 3 loads its runs through `import`
 * and measures at 100k and 1M rows (`--huge`: also 10M), or at exactly `--rows N`.
 */
import { parseArgs } from 'node:util';
import { report } from './lib.js';
import { bullmq } from './parts/bullmq.js';
import { cleanup } from './parts/cleanup.js';
import { locks } from './parts/locks.js';
import { readPath } from './parts/read-path.js';
import { stream } from './parts/stream.js';
import { timeout } from './parts/timeout.js';
import { workers } from './parts/workers.js';
import { writePath } from './parts/write-path.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    scale: { type: 'string', default: '1' },
    // Part 3 at exactly N rows (loaded through import) instead of the 100k → 1M curve; --huge adds 10M to the curve.
    rows: { type: 'string' },
    huge: { type: 'boolean', default: false },
  },
});
const only = values.only ? new Set(values.only.split(',')) : null;
const scale = Number(values.scale);
const want = (part: string) => !only || only.has(part);

const started = Date.now();
if (want('1')) await writePath({ rows: Math.round(5000 * scale) });
if (want('2')) await bullmq({ jobs: Math.round(20_000 * scale) });
if (want('3')) {
  const sizes = values.rows
    ? [Number(values.rows)]
    : [100_000, 1_000_000, ...(values.huge ? [10_000_000] : [])].map((n) => Math.max(1000, Math.round(n * scale)));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--rows must be a positive integer');
  await readPath({ sizes, windowMs: Math.max(1000, 2500 * scale) });
}
if (want('4'))
  await cleanup({
    expired: Math.round(500_000 * scale),
    recent: Math.round(100_000 * scale),
    rate: 500,
    quietMs: Math.max(2000, 5000 * scale),
    variants: [
      { realtime: true, writer: false },
      { realtime: true, writer: true },
      { realtime: false, writer: true },
    ],
  });
if (want('5'))
  await stream({
    subscribers: Math.max(50, Math.round(1000 * scale)),
    admins: 20,
    rate: 100,
    durationMs: Math.max(3000, 20_000 * scale),
  });
if (want('6')) await locks({ pairs: Math.round(5000 * scale) });
if (want('7')) await timeout({ stale: Math.round(10_000 * scale), fresh: Math.round(10_000 * scale), rounds: 3 });
if (want('8'))
  await workers({
    rows: Math.max(1000, Math.round(20_000 * scale)),
    windowMs: Math.max(1000, 3000 * scale),
    rounds: 3,
  });
report(new URL('./results.json', import.meta.url).pathname, {
  seconds: Math.round((Date.now() - started) / 1000),
  scale,
});
