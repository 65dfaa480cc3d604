import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  type ExecutionChange,
  MemoryChangeFeed,
  silentLogger,
} from '../../src/index.js';
import { BroadcastChangeFeed, parseMessage } from '../../src/realtime/broadcast.js';
import {
  connectFromUrl,
  createPostgresChangeFeed,
  DEFAULT_POSTGRES_CHANNEL,
} from '../../src/realtime/postgres/feed.js';
import { createRedisChangeFeed } from '../../src/realtime/redis/feed.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

let seq = 0;
const uid = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}-${randomBytes(3).toString('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects changes; `waitFor` resolves with the first matching change or fails after `ms`. */
function collector(feed: { subscribe(l: (c: ExecutionChange) => void): () => void }) {
  const seen: ExecutionChange[] = [];
  const waiters = new Set<() => void>();
  const stop = feed.subscribe((c) => {
    seen.push(c);
    for (const w of waiters) w();
  });
  return {
    seen,
    stop,
    waitFor(match: (c: ExecutionChange) => boolean, ms = 1000): Promise<ExecutionChange> {
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = seen.find(match);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching change within ${ms} ms (waited ${Date.now() - started} ms; saw ${seen.length})`),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}

describe('PostgreSQL LISTEN/NOTIFY feed', () => {
  const database = useTestDatabase('postgres');
  let writer: AgentcoreTask;
  let reader: AgentcoreTask;

  beforeAll(async () => {
    writer = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
    reader = await createAgentcoreTask({ database: database.url, logger: silentLogger, migrate: false });
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
  });

  it('is chosen by default on a PostgreSQL database', () => {
    expect(writer.feed).toBeInstanceOf(BroadcastChangeFeed);
    expect(reader.feed).toBeInstanceOf(BroadcastChangeFeed);
  });

  it('delivers a write made by another instance within 1 second', async () => {
    const inbox = collector(reader.feed);
    const taskId = uid('pg-cross');
    const row = await writer.registerTaskExecution({ taskId, taskName: 't', module: 'm', createdBy: { id: 7 } });
    const created = await inbox.waitFor((c) => c.task_id === taskId);
    expect(created).toEqual({ kind: 'created', id: row!.id, task_id: taskId, status: 'PENDING', created_by_id: '7' });
    await writer.tracker.reportProgress(taskId, { percent: 40 });
    await writer.tracker.updateTaskStatus(taskId, 'SUCCESS');
    await inbox.waitFor((c) => c.task_id === taskId && c.status === 'SUCCESS');
    inbox.stop();
  });

  it('delivers local changes to local subscribers exactly once', async () => {
    const inbox = collector(writer.feed);
    const taskId = uid('pg-local');
    await writer.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
    await inbox.waitFor((c) => c.task_id === taskId, 100); // local delivery does not wait for the round trip
    await sleep(300); // the echo from PostgreSQL has arrived by now and must have been skipped
    expect(inbox.seen.filter((c) => c.task_id === taskId)).toHaveLength(1);
    inbox.stop();
  });

  it('listens again after its connection is killed (as in a database restart)', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and query ilike 'LISTEN%'`,
      );
      expect(killed.rowCount).toBe(2); // the writer's and the reader's LISTEN connections
    } finally {
      await admin.end();
    }
    const inbox = collector(reader.feed);
    const taskId = uid('pg-reconnect');
    // Keep writing until the reader is listening again: notifications sent while it reconnects are lost.
    const deadline = Date.now() + 5000;
    let received = false;
    while (!received && Date.now() < deadline) {
      await writer.tracker.reportProgress(taskId, { percent: 1 });
      received = await inbox
        .waitFor((c) => c.task_id === taskId, 200)
        .then(
          () => true,
          () => false,
        );
    }
    expect(received).toBe(true);
    inbox.stop();
  });

  it('coalesces a burst into few notifications, each under the 8000-byte limit', async () => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    await listener.query(`LISTEN ${DEFAULT_POSTGRES_CHANNEL}`);
    try {
      const inbox = collector(reader.feed);
      const longId = 'x'.repeat(200);
      const burst = Array.from({ length: 300 }, (_, i) => ({
        kind: 'updated' as const,
        id: 1_000_000 + i,
        task_id: `${longId}-${i}`,
        status: 'STARTED',
        created_by_id: null,
      }));
      await Promise.all(burst.map((c) => writer.feed.publish(c)));
      await inbox.waitFor((c) => c.id === 1_000_299);
      expect(inbox.seen.filter((c) => c.id >= 1_000_000)).toHaveLength(300);
      await sleep(100);
      const ours = payloads.map((p) => parseMessage(p)).filter((m) => m?.c.some((c) => c.id >= 1_000_000));
      expect(ours.length).toBeGreaterThan(1); // 300 × ~250 bytes cannot fit one message…
      expect(ours.length).toBeLessThan(30); // …but far fewer messages than changes
      for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
      inbox.stop();
    } finally {
      await listener.end();
    }
  });

  it('carries a batch of deletions to other instances as one deleted change per run, in few compact notifications', async () => {
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    await listener.query(`LISTEN ${DEFAULT_POSTGRES_CHANNEL}`);
    try {
      const remote = collector(reader.feed);
      const local = collector(writer.feed);
      const prefix = uid('gone');
      const statuses = ['SUCCESS', 'FAILURE', 'REVOKED'];
      const runs = Array.from({ length: 3000 }, (_, i) => ({
        id: 2_000_000 + i,
        task_id: `${prefix}-${i}`,
        status: statuses[i % 3],
        created_by_id: i % 5 === 0 ? null : `user-${i % 7}`,
      }));
      await writer.feed.publishDeleted(runs);
      const expected = runs.map((run) => ({ kind: 'deleted', ...run }));
      expect(local.seen.filter((c) => c.task_id.startsWith(prefix))).toEqual(expected); // at once, in order
      await remote.waitFor((c) => c.id === 2_002_999, 2000);
      await sleep(200);
      const byId = (x: ExecutionChange, y: ExecutionChange) => x.id - y.id;
      expect(remote.seen.filter((c) => c.task_id.startsWith(prefix)).sort(byId)).toEqual(expected);
      expect(local.seen.filter((c) => c.task_id.startsWith(prefix))).toHaveLength(3000); // the echo was skipped
      const ours = payloads.filter((p) => p.includes(prefix));
      for (const p of ours) expect(Buffer.byteLength(p)).toBeLessThan(8000);
      // ~52 bytes a run instead of ~118 as full changes: about 22 notifications instead of 48.
      expect(ours.length).toBeLessThanOrEqual(25);
      remote.stop();
      local.stop();
    } finally {
      await listener.end();
    }
  });

  it('works with a host pg.Pool as the database (LISTEN on a client checked out of it)', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 3 });
    const hosted = await createAgentcoreTask({ database: pool, logger: silentLogger, migrate: false });
    try {
      expect(hosted.feed).toBeInstanceOf(BroadcastChangeFeed);
      const inbox = collector(hosted.feed);
      const taskId = uid('pg-pool');
      await writer.registerTaskExecution({ taskId, taskName: 't', module: 'm' });
      await inbox.waitFor((c) => c.task_id === taskId);
      inbox.stop();
    } finally {
      await hosted.close();
    }
    expect(pool.totalCount).toBe(0); // the LISTEN client went back (destroyed), the pool is the host's to end
    await pool.end();
  });

  it('keeps working locally while the LISTEN connection cannot be opened, and reports it', async () => {
    const warnings: unknown[] = [];
    const logger = { ...silentLogger, warn: (o: unknown, m?: string) => warnings.push(m ?? o) };
    const feed = await createPostgresChangeFeed({
      db: writer.db,
      connect: connectFromUrl('postgres://postgres@127.0.0.1:1/nowhere'),
      logger,
    });
    try {
      const inbox = collector(feed);
      await feed.publish({ kind: 'updated', id: 1, task_id: 'a', status: 'STARTED', created_by_id: null });
      expect(inbox.seen).toHaveLength(1);
      expect(warnings.join(' ')).toMatch(/LISTEN connection lost; reconnecting/);
    } finally {
      await feed.close();
    }
  });
});

describe('Redis pub/sub feed', () => {
  const channel = uid('agentcore_task_test');
  let a: Redis;
  let b: Redis;

  beforeAll(() => {
    a = new Redis(REDIS_URL);
    b = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await a?.quit();
    await b?.quit();
  });

  it('delivers a change published by another process within 1 second, and local ones exactly once', async () => {
    const writer = await createRedisChangeFeed({ redis: a, logger: silentLogger, channel });
    const reader = await createRedisChangeFeed({ redis: b, logger: silentLogger, channel });
    try {
      const remote = collector(reader);
      const local = collector(writer);
      const change: ExecutionChange = {
        kind: 'created',
        id: 42,
        task_id: uid('r'),
        status: 'PENDING',
        created_by_id: '3',
      };
      await writer.publish(change);
      expect(await remote.waitFor((c) => c.task_id === change.task_id)).toEqual(change);
      await sleep(200);
      expect(local.seen).toEqual([change]);
      expect(remote.seen).toEqual([change]);
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('delivers a batch of deletions to another process, one deleted change per run', async () => {
    const writer = await createRedisChangeFeed({ redis: a, logger: silentLogger, channel });
    const reader = await createRedisChangeFeed({ redis: b, logger: silentLogger, channel });
    try {
      const remote = collector(reader);
      const runs = Array.from({ length: 500 }, (_, i) => ({
        id: 100 + i,
        task_id: uid(`r${i}`),
        status: 'SUCCESS',
        created_by_id: String(i % 3),
      }));
      await writer.publishDeleted(runs);
      await remote.waitFor((c) => c.id === 599);
      expect([...remote.seen].sort((x, y) => x.id - y.id)).toEqual(runs.map((run) => ({ kind: 'deleted', ...run })));
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('ignores foreign messages on the channel', async () => {
    const reader = await createRedisChangeFeed({ redis: b, logger: silentLogger, channel });
    try {
      const inbox = collector(reader);
      await a.publish(channel, 'not json');
      await a.publish(channel, JSON.stringify({ v: 1, o: 'x', c: [{ id: 'nope' }] }));
      await a.publish(
        channel,
        JSON.stringify({
          v: 1,
          o: 'x',
          c: [{ kind: 'updated', id: 5, task_id: 't', status: 'SUCCESS', created_by_id: null }],
        }),
      );
      const ok = await inbox.waitFor((c) => c.id === 5);
      expect(ok.task_id).toBe('t');
      expect(inbox.seen).toHaveLength(1);
    } finally {
      await reader.close();
    }
  });
});

describe('broadcast message format', () => {
  it('decodes deleted runs and drops malformed entries, keeping the rest of the message', () => {
    const change = { kind: 'updated', id: 1, task_id: 'a', status: 'STARTED', created_by_id: null };
    const text = JSON.stringify({
      v: 1,
      o: 'sender',
      c: [change],
      s: ['SUCCESS', 'FAILURE'],
      d: [
        [10, 'ten', '3', 0],
        [11, 'eleven', null, 1],
        [12, 'bad status', null, 2],
        [13, 'fractional status', null, 0.5],
        ['14', 'string id', null, 0],
        [15, 16, null, 0],
        [17, 'numeric creator', 17, 0],
        'not a tuple',
      ],
    });
    expect(parseMessage(text)).toEqual({
      v: 1,
      o: 'sender',
      c: [
        change,
        { kind: 'deleted', id: 10, task_id: 'ten', status: 'SUCCESS', created_by_id: '3' },
        { kind: 'deleted', id: 11, task_id: 'eleven', status: 'FAILURE', created_by_id: null },
      ],
    });
    // Without the status list, deletions cannot be read and are ignored.
    expect(parseMessage(JSON.stringify({ v: 1, o: 'x', c: [], d: [[1, 't', null, 0]] }))?.c).toEqual([]);
  });
});

describe('Redis feed between two createAgentcoreTask instances', () => {
  const database = useTestDatabase('postgres');
  const channel = uid('agentcore_task_test_instances');
  let writer: AgentcoreTask;
  let reader: AgentcoreTask;

  beforeAll(async () => {
    // Redis is chosen by default when given, even on PostgreSQL.
    writer = await createAgentcoreTask({
      database: database.url,
      redis: REDIS_URL,
      realtimeChannel: channel,
      logger: silentLogger,
    });
    reader = await createAgentcoreTask({
      database: database.url,
      redis: REDIS_URL,
      realtimeChannel: channel,
      logger: silentLogger,
      migrate: false,
    });
  });
  afterAll(async () => {
    await writer?.close();
    await reader?.close();
  });

  it('delivers an update written by the other instance within 1 second, exactly once', async () => {
    expect(reader.feed).toBeInstanceOf(BroadcastChangeFeed);
    const inbox = collector(reader.feed);
    const local = collector(writer.feed);
    const taskId = uid('redis-cross');
    await writer.registerTaskExecution({ taskId, taskName: 't', module: 'm', createdBy: { id: 'u-1' } });
    await writer.tracker.reportProgress(taskId, { percent: 80, message: 'almost' });
    const started = Date.now();
    await writer.tracker.updateTaskStatus(taskId, 'SUCCESS');
    const done = await inbox.waitFor((c) => c.task_id === taskId && c.status === 'SUCCESS');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(done.created_by_id).toBe('u-1');
    await sleep(200);
    expect(local.seen.filter((c) => c.task_id === taskId && c.status === 'SUCCESS')).toHaveLength(1);
    expect(inbox.seen.filter((c) => c.task_id === taskId && c.status === 'SUCCESS')).toHaveLength(1);
    // It is Redis that carries them: a message published on the Redis channel by hand arrives too.
    const probe = new Redis(REDIS_URL);
    await probe.publish(
      channel,
      JSON.stringify({
        v: 1,
        o: 'probe',
        c: [{ kind: 'updated', id: 1, task_id: 'probe', status: 'SUCCESS', created_by_id: null }],
      }),
    );
    await probe.quit();
    await inbox.waitFor((c) => c.task_id === 'probe');
    inbox.stop();
    local.stop();
  });
});

describe('feed selection', () => {
  const database = useTestDatabase('sqlite');

  it('uses memory on SQLite, nothing with realtime: false, and rejects impossible choices', async () => {
    const mem = await createAgentcoreTask({ database: database.url, logger: silentLogger });
    expect(mem.feed).toBeInstanceOf(MemoryChangeFeed);
    await mem.close();
    const off = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: false });
    const seen: unknown[] = [];
    off.feed.subscribe((c) => seen.push(c));
    await off.registerTaskExecution({ taskId: uid('off'), taskName: 't', module: 'm' });
    expect(seen).toEqual([]);
    await off.close();
    await expect(
      createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'postgres' }),
    ).rejects.toThrow(/needs a PostgreSQL database/);
    await expect(
      createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'redis' }),
    ).rejects.toThrow(/needs the redis option/);
  });
});
