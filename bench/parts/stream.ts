/**
 * Part 5 — live stream. The REST server in its own process with 1,000 open `executions/stream/` subscribers: most
 * are users watching their own runs (as the dashboard opens them), a few are admins watching every run (each update
 * goes to its owner and to every admin); another process writes progress at 100
 * updates/s to one run per user, through PostgreSQL with LISTEN/NOTIFY fan-out. Each update carries its send time;
 * each subscriber records when it arrives. Reported: delivery latency p50/p95/p99, events missed (an update a
 * subscriber should have seen and did not) and events leaked (a run of another user). The baseline is the raw floor
 * of the same path: `pg_notify` to a `LISTEN`ing `pg` client, measured in the same run.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { details, measured, summarize } from '../lib.js';
import { rssMiB, startServerProcess } from '../support/http.js';

const PART = '5 live stream';
const UPDATER = fileURLToPath(new URL('../support/updater.ts', import.meta.url));
/** Wall-clock time with sub-millisecond resolution, comparable across processes on one machine. */
const epochMs = () => performance.timeOrigin + performance.now();

/** One open SSE connection that records the `bench_seq` of every execution event and its latency. */
class Subscriber {
  readonly seqs = new Set<number>();
  foreign = 0;
  connected = false;
  ended = false;
  private buffer = '';
  private req: http.ClientRequest | undefined;

  /** `userId` 0: an admin watching every run (`my_tasks=false`). */
  constructor(
    readonly userId: number,
    private readonly latencies: number[],
  ) {}

  get admin(): boolean {
    return this.userId === 0;
  }

  /** Whether update `k` (of run `sse-${(k % runs) + 1}`, owned by that user) is for this subscriber. */
  expects(k: number, runs: number): boolean {
    return this.admin || (k % runs) + 1 === this.userId;
  }

  open(base: string, agent: http.Agent): Promise<void> {
    const url = this.admin ? `${base}?my_tasks=false` : base;
    const authorization = this.admin ? 'Bearer admin:900001' : `Bearer user:${this.userId}`;
    return new Promise((resolve, reject) => {
      this.req = http.get(url, { agent, headers: { authorization } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream for user ${this.userId}: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          this.buffer += chunk;
          let end = this.buffer.indexOf('\n\n');
          while (end >= 0) {
            this.onEvent(this.buffer.slice(0, end));
            this.buffer = this.buffer.slice(end + 2);
            end = this.buffer.indexOf('\n\n');
          }
          if (this.connected) resolve();
        });
        res.on('end', () => {
          this.ended = true;
        });
        res.on('error', () => {
          this.ended = true;
        });
      });
      this.req.on('error', reject);
    });
  }

  private onEvent(block: string): void {
    if (block.startsWith(':')) {
      this.connected = true;
      return;
    }
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) return;
    const item = JSON.parse(data) as { created_by_id: unknown; metadata: Record<string, unknown> | null };
    if (!this.admin && String(item.created_by_id) !== String(this.userId)) this.foreign++;
    const seq = item.metadata?.bench_seq;
    const sent = item.metadata?.bench_sent;
    if (typeof seq === 'number' && typeof sent === 'number' && !this.seqs.has(seq)) {
      this.seqs.add(seq);
      this.latencies.push(epochMs() - sent);
    }
  }

  close(): void {
    this.req?.destroy();
  }
}

/** Latency of raw `pg_notify` → `LISTEN` on the same server, at the same rate: the floor of cross-process delivery. */
async function rawNotifyLatency(url: string, rate: number, count: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  const sender = new pg.Client({ connectionString: url });
  await Promise.all([listener.connect(), sender.connect()]);
  const samples: number[] = [];
  listener.on('notification', (n) => samples.push(epochMs() - Number(n.payload)));
  await listener.query('listen bench_raw');
  for (let k = 0; k < count; k++) {
    await sender.query('select pg_notify($1, $2)', ['bench_raw', String(epochMs())]);
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await new Promise((r) => setTimeout(r, 200));
  await Promise.all([listener.end(), sender.end()]);
  return samples;
}

export async function stream(opts: { subscribers: number; admins: number; rate: number; durationMs: number }) {
  const users = opts.subscribers - opts.admins;
  const db = await createTestDatabase('postgres');
  const tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
  for (let u = 1; u <= users; u++)
    await tasks.registerTaskExecution({
      taskId: `sse-${u}`,
      taskName: 'bench.stream',
      module: 'bench',
      createdBy: { id: u, username: `user${u}` },
      initialStatus: 'STARTED',
    });
  const raw = summarize(await rawNotifyLatency(db.url, opts.rate, Math.min(500, opts.rate * 3)));

  const server = await startServerProcess({
    DATABASE_URL: db.url,
    REALTIME: 'postgres',
    MAX_STREAMS: String(opts.subscribers + 100),
  });
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const latencies: number[] = [];
  const subscribers = Array.from(
    { length: opts.subscribers },
    (_, j) => new Subscriber(j < users ? j + 1 : 0, latencies),
  );
  try {
    const url = `http://127.0.0.1:${server.port}/executions/stream/`;
    for (let j = 0; j < subscribers.length; j += 100)
      await Promise.all(subscribers.slice(j, j + 100).map((s) => s.open(url, agent)));
    const rssBefore = rssMiB(server.pid);

    const updater = spawn(process.execPath, ['--import', 'tsx', UPDATER], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REALTIME: 'postgres',
        RATE: String(opts.rate),
        DURATION_MS: String(opts.durationMs),
        RUNS: String(users),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    updater.stdout.on('data', (c) => {
      out += c;
    });
    const code = await new Promise<number | null>((resolve) => updater.once('exit', resolve));
    if (code !== 0) throw new Error(`updater exited with ${code}`);
    const { sent, maxLagMs } = JSON.parse(out) as { sent: number; maxLagMs: number };
    // Let the last notifications arrive.
    const settle = Date.now() + 3000;
    const expected = subscribers.map((s) => {
      let n = 0;
      for (let k = 0; k < sent; k++) if (s.expects(k, users)) n++;
      return n;
    });
    while (Date.now() < settle && subscribers.some((s, i) => s.seqs.size < expected[i]))
      await new Promise((r) => setTimeout(r, 50));
    const rssAfter = rssMiB(server.pid);

    let missed = 0;
    for (const s of subscribers) {
      for (let k = 0; k < sent; k++) if (s.expects(k, users) && !s.seqs.has(k)) missed++;
    }
    const leaked = subscribers.reduce((n, s) => n + s.foreign, 0);
    const dropped = subscribers.filter((s) => s.ended).length;
    const l = summarize(latencies);
    const what = `${users} users' own streams + ${opts.admins} admin streams of every run; ${opts.rate} updates/s for ${opts.durationMs / 1000} s from another process`;
    measured(PART, 'delivery latency p50', 'ms', l.p50, raw.p50, '', null, `baseline: raw pg_notify → LISTEN`);
    measured(PART, 'delivery latency p95', 'ms', l.p95, raw.p95, '< 100 ms', l.p95 < 100, what);
    measured(PART, 'delivery latency p99', 'ms', l.p99, raw.p99, '', null);
    measured(
      PART,
      'missed events',
      'events',
      missed,
      null,
      '0',
      missed === 0,
      `of ${l.n + missed} expected; ${dropped} streams closed early`,
    );
    measured(PART, "other users' events received", 'events', leaked, null, '0', leaked === 0, 'scoping under load');
    details.stream = { sent, maxUpdaterLagMs: maxLagMs, serverRssMiB: { before: rssBefore, after: rssAfter }, raw };
  } finally {
    for (const s of subscribers) s.close();
    agent.destroy();
    await server.stop();
    await tasks.close();
    await db.drop();
  }
}
