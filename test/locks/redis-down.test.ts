import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  createAgentcoreTask,
  DEFAULT_LOCK_OPERATION_TIMEOUT_MS,
  type LockProvider,
  type Logger,
  RedisLockProvider,
  silentLogger,
  TaskLocks,
} from '../../src/index.js';
import { REDIS_URL } from '../helpers/env.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { keyOf, sleep } from './lock-backends.js';

const UNREACHABLE = 'redis://127.0.0.1:1';
/** Acquisition must fail closed within the operation timeout, plus scheduling slack. */
const BOUND_MS = DEFAULT_LOCK_OPERATION_TIMEOUT_MS + 1000;
const lockName = (label: string) => `${label}_${randomBytes(4).toString('hex')}`;

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warnings, warn: (_obj, msg) => warnings.push(String(msg)) };
}

async function timed<T>(promise: Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const value = await promise;
  return [value, Date.now() - started];
}

describe('locks when Redis is unreachable', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('fails closed in bounded time with a URL that refuses connections, and nothing crashes', async () => {
    const logger = recordingLogger();
    const [tasks, startMs] = await timed(
      createAgentcoreTask({ database: 'sqlite::memory:', redis: UNREACHABLE, realtime: false, logger }),
    );
    expect(startMs).toBeLessThan(BOUND_MS);
    try {
      const [acquired, ms] = await timed(tasks.acquireTaskLock('down_acquire', 60));
      expect(acquired).toBe(false);
      expect(ms).toBeLessThan(BOUND_MS);

      let ran = false;
      const wrapped = tasks.preventDuplicateTask(
        { lockName: 'down_job', lockParam: 'userId' },
        async (_: { userId: number }) => {
          ran = true;
        },
      );
      const [result, wrappedMs] = await timed(wrapped({ userId: 7 }));
      expect(result).toStrictEqual({
        success: false,
        status: 'skipped',
        reason: 'lock_acquisition_failed',
        error: 'Failed to acquire lock for down_job_7',
      });
      expect(ran).toBe(false);
      expect(wrappedMs).toBeLessThan(BOUND_MS);

      expect(await tasks.isTaskLocked('down_acquire')).toBe(false);
      expect(await tasks.releaseTaskLock('down_acquire', { force: true })).toBe(false);
      await expect(tasks.locks.listLocks()).rejects.toBeInstanceOf(BackendUnavailableError);
      expect(logger.warnings.some((w) => w.includes('cannot acquire task lock'))).toBe(true);
    } finally {
      const [, closeMs] = await timed(tasks.close());
      expect(closeMs).toBeLessThan(BOUND_MS);
    }
  });

  it('fails closed in bounded time on a host client that would queue commands for long, and leaves it open', async () => {
    // ioredis defaults: 20 retries per request and an offline queue, so a command could wait for many seconds.
    const client = new Redis(UNREACHABLE, { lazyConnect: true });
    client.on('error', () => {});
    const tasks = await createAgentcoreTask({
      database: 'sqlite::memory:',
      redis: client,
      realtime: false,
      logger: silentLogger,
    });
    try {
      expect(tasks.redis).toBe(client);
      const [acquired, ms] = await timed(tasks.acquireTaskLock('host_client', 60));
      expect(acquired).toBe(false);
      expect(ms).toBeLessThan(BOUND_MS);
      await tasks.close();
      expect(client.status).not.toBe('end');
    } finally {
      client.disconnect();
    }
  });
});

describe('locks when Redis goes away and comes back', () => {
  const [host, port] = [new URL(REDIS_URL).hostname, Number(new URL(REDIS_URL).port || 6379)];
  const proxy = new TcpProxy(host, port);
  afterAll(async () => {
    await proxy.close();
  });

  it('fails closed while Redis is cut off and recovers by itself without a restart', async () => {
    const proxyPort = await proxy.start();
    const tasks = await createAgentcoreTask({
      database: 'sqlite::memory:',
      redis: `redis://127.0.0.1:${proxyPort}`,
      realtime: false,
      logger: silentLogger,
    });
    const name = lockName('outage');
    try {
      expect(await tasks.acquireTaskLock(name, 30)).toBe(true);
      expect(await tasks.releaseTaskLock(name)).toBe(true);

      await proxy.cut();
      const [acquired, ms] = await timed(tasks.acquireTaskLock(name, 30));
      expect(acquired).toBe(false);
      expect(ms).toBeLessThan(BOUND_MS);
      let ran = false;
      const wrapped = tasks.preventDuplicateTask({ lockName: name }, async () => {
        ran = true;
      });
      expect(await wrapped()).toMatchObject({ reason: 'lock_acquisition_failed' });
      expect(ran).toBe(false);

      await proxy.restore();
      await expect.poll(() => wrapped(), { timeout: 10_000, interval: 250 }).toBeUndefined();
      expect(ran).toBe(true);
      expect(await tasks.isTaskLocked(name)).toBe(false);
    } finally {
      await tasks.close();
    }
  });
});

describe('an acquisition that answers after the timeout', () => {
  it('is handed back at once, so no lock is left that nobody knows it holds', async () => {
    const client = new Redis(REDIS_URL);
    const real = new RedisLockProvider({ client, prefix: 'agentcore_task_task_lock:' });
    let lateResult: boolean | undefined;
    // The real Redis provider, answering 300 ms late (as a Redis under heavy load would).
    const slow: LockProvider = {
      ...real,
      acquire: async (key, owner, ttl) => {
        await sleep(300);
        lateResult = await real.acquire(key, owner, ttl);
        return lateResult;
      },
      release: (key, owner) => real.release(key, owner),
      extend: (key, owner, ttl) => real.extend(key, owner, ttl),
      isLocked: (key) => real.isLocked(key),
      list: () => real.list(),
    };
    const locks = new TaskLocks({ provider: slow, logger: silentLogger, operationTimeoutMs: 50 });
    const name = lockName('late');
    try {
      expect(await locks.acquireTaskLock(name, 60)).toBe(false);
      await expect.poll(() => lateResult).toBe(true);
      await expect.poll(() => client.exists(keyOf(name))).toBe(0);
    } finally {
      await client.del(keyOf(name));
      client.disconnect();
    }
  });
});
