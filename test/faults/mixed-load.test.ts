/**
 * A minute of mixed load on the REST server (its own process, PostgreSQL, LISTEN/NOTIFY fan-out) at 64 connections:
 * 40 keep-alive readers (lists, filters, detail, status, stats, as users and as an admin), 16 open event streams,
 * and 8 progress writers (another instance, as workers would). Zero errors anywhere, every progress write lands,
 * every stream stays open and receives events, and the server's memory stays bounded (RSS reported at start and end).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedLoop, get, rssMiB, startServerProcess } from '../../bench/support/http.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const SECONDS = Number(process.env.FAULTS_LOAD_SECONDS ?? 60);
const READERS = 40;
const STREAMS = 16;
const WRITERS = 8;
const USERS = 20;
const RUNS_PER_USER = 40;
/** Allowed RSS growth of the server over the run: a leak of even a few KiB per request would exceed it. */
const MAX_RSS_GROWTH_MIB = 80;

interface Stream {
  events: number;
  ended: boolean;
  request: http.ClientRequest;
}

function openStream(port: number, authorization: string, query = ''): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path: `/executions/stream/${query}`, headers: { authorization }, agent: false },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          stream.events += chunk.split('event: execution').length - 1;
        });
        res.on('end', () => {
          stream.ended = true;
        });
        res.on('error', () => {
          stream.ended = true;
        });
        resolve(stream);
      },
    );
    const stream: Stream = { events: 0, ended: false, request };
    request.on('error', reject);
  });
}

describe(`${SECONDS} s of mixed load at 64 connections`, () => {
  let db: TestDatabase;
  let writer: AgentcoreTask;
  let server: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  const ids: number[][] = [];
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    // `throw`: a write that cannot be stored fails the test instead of being logged.
    writer = await createAgentcoreTask({
      database: db.url,
      realtime: 'postgres',
      onRecordError: 'throw',
      logger: silentLogger,
      env: {},
    });
    for (let u = 1; u <= USERS; u++) {
      ids[u] = [];
      for (let i = 0; i < RUNS_PER_USER; i++) {
        const run = await writer.registerTaskExecution({
          taskId: `load-${u}-${i}`,
          taskName: `job_${i % 5}`,
          module: `mod_${u % 4}`,
          createdBy: { id: u, username: `user${u}` },
          initialStatus: 'STARTED',
          metadata: { tenant: `t${i % 3}` },
        });
        ids[u].push(run!.id);
      }
    }
    server = await startServerProcess({ DATABASE_URL: db.url, REALTIME: 'postgres' });
  });
  afterAll(async () => {
    await server?.stop();
    await writer?.close();
    await db?.drop();
  });

  it('serves everything without an error, lands every write, and keeps memory bounded', async () => {
    const port = server!.port;
    const base = `http://127.0.0.1:${port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: READERS });
    const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)];
    const reads: Array<(u: number) => [string, string]> = [
      (u) => [`user:${u}`, '/executions/'],
      (u) => [`user:${u}`, `/executions/?status=STARTED&module=mod_${u % 4}&page_size=20`],
      (u) => [`user:${u}`, '/executions/my-tasks/?metadata.tenant=t1&ordering=-started_at'],
      (u) => [`user:${u}`, `/executions/${pick(ids[u])}/`],
      (u) => [
        `user:${u}`,
        `/executions/status/?task_id=load-${u}-${Math.floor(Math.random() * RUNS_PER_USER)}&sync=false`,
      ],
      (u) => [`user:${u}`, '/executions/stats/?granularity=day'],
      () => ['admin:999', '/executions/?my_tasks=false&page=2'],
      () => ['admin:999', '/executions/stats/?my_tasks=false&granularity=month'],
    ];
    const errors: string[] = [];
    const read = async () => {
      const [who, path] = pick(reads)(1 + Math.floor(Math.random() * USERS));
      try {
        const res = await get(agent, base + path, { authorization: `Bearer ${who}` });
        if (res.status !== 200) errors.push(`${path}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
        else JSON.parse(res.body);
      } catch (error) {
        errors.push(`${path}: ${(error as Error).message}`);
      }
    };

    // Warm up, then take the starting figure.
    await closedLoop({ concurrency: READERS, durationMs: 0, minRequests: 400, send: read });
    const streams: Stream[] = [];
    for (let s = 0; s < STREAMS; s++)
      streams.push(
        await openStream(port, s < 2 ? 'Bearer admin:999' : `Bearer user:${s}`, s < 2 ? '?my_tasks=false' : ''),
      );
    const rssStart = rssMiB(server!.pid);

    const deadline = Date.now() + SECONDS * 1000;
    const lastWritten = new Map<string, number>();
    let writes = 0;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let n = 0; Date.now() < deadline; n++) {
        // Each writer owns the runs i ≡ w (mod WRITERS), so the last value it wrote to a run is the run's final value.
        const u = 1 + (n % USERS);
        const i = w + WRITERS * (Math.floor(n / USERS) % (RUNS_PER_USER / WRITERS));
        const taskId = `load-${u}-${i}`;
        try {
          await writer.tracker.reportProgress(taskId, { percent: n % 101, step: `w${w}`, seq: n });
          lastWritten.set(taskId, n);
          writes++;
        } catch (error) {
          errors.push(`progress ${taskId}: ${(error as Error).message}`);
        }
      }
    });
    const load = await closedLoop({ concurrency: READERS, durationMs: SECONDS * 1000, send: read });
    await Promise.all(writers);
    const rssEnd = rssMiB(server!.pid);
    await new Promise((r) => setTimeout(r, 500));
    for (const s of streams) s.request.destroy();
    agent.destroy();

    console.log(
      `mixed load: ${load.samples.length} reads (${Math.round(load.perSecond)}/s), ${writes} progress writes, ` +
        `${streams.reduce((n, s) => n + s.events, 0)} stream events; server RSS ${rssStart.toFixed(0)} → ${rssEnd.toFixed(0)} MiB`,
    );
    expect(errors.slice(0, 20)).toEqual([]);
    expect(load.samples.length).toBeGreaterThan(SECONDS * 20);
    expect(writes).toBeGreaterThan(SECONDS * 20);
    expect(streams.filter((s) => s.ended)).toHaveLength(0);
    expect(streams.filter((s) => s.events === 0)).toHaveLength(0);
    expect(rssEnd - rssStart).toBeLessThan(MAX_RSS_GROWTH_MIB);

    // Every progress write landed: each run holds the last value its writer wrote.
    await writer.tracker.flush();
    const rows = await writer.db.selectFrom('agentcore_task_execution').select(['task_id', 'metadata']).execute();
    const wrong = rows.filter(
      (r) => lastWritten.has(r.task_id) && (r.metadata as Record<string, unknown>).seq !== lastWritten.get(r.task_id),
    );
    expect(wrong).toEqual([]);
  });
});
