import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  LOCK_KEY_PREFIX,
  MemoryLockProvider,
  silentLogger,
  TaskLocks,
} from '../../src/index.js';
import type { DialectName } from '../../src/store/dialect.js';
import { useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';

/** Every lock backend the lock suites run against: Redis, memory, and the database lock on each real database. */
export const LOCK_BACKENDS = ['redis', 'memory', 'postgres', 'mysql', 'sqlite'] as const;
export type LockBackendName = (typeof LOCK_BACKENDS)[number];

export interface LockFixture {
  /** Two holders with separate connections (memory: two `TaskLocks` over one in-process provider). */
  readonly a: TaskLocks;
  readonly b: TaskLocks;
  /** The instances behind `a` and `b` (memory: `undefined`). */
  readonly tasksA: AgentcoreTask | undefined;
  readonly tasksB: AgentcoreTask | undefined;
  /** The owner stored under the backend key, read straight from the backend (expired or not). */
  rawOwner(key: string): Promise<string | undefined>;
  /** A lock name unique to this run, so tests never meet each other's locks on the shared Redis. */
  name(label: string): string;
}

/**
 * In a `describe` block: two lock holders on `backend`, closed after the block. After the block, no lock of this run
 * may be left behind (a test that leaks a lock fails).
 */
export function useLockBackend(backend: LockBackendName): LockFixture {
  const runId = randomBytes(4).toString('hex');
  let seq = 0;
  const database = backend === 'redis' || backend === 'memory' ? undefined : useTestDatabase(backend as DialectName);
  let a: TaskLocks;
  let b: TaskLocks;
  let tasksA: AgentcoreTask | undefined;
  let tasksB: AgentcoreTask | undefined;
  let raw: Redis | undefined;
  let memory: MemoryLockProvider | undefined;

  beforeAll(async () => {
    if (backend === 'memory') {
      memory = new MemoryLockProvider();
      a = new TaskLocks({ provider: memory, logger: silentLogger });
      b = new TaskLocks({ provider: memory, logger: silentLogger });
      return;
    }
    const options =
      backend === 'redis'
        ? { database: 'sqlite::memory:', redis: REDIS_URL, lock: 'redis' as const }
        : { database: database!.url, lock: 'database' as const };
    tasksA = await createAgentcoreTask({ ...options, realtime: false, logger: silentLogger });
    tasksB = await createAgentcoreTask({ ...options, realtime: false, logger: silentLogger, migrate: false });
    a = tasksA.locks;
    b = tasksB.locks;
    if (backend === 'redis') raw = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    // Whatever a test left behind is removed (the shared Redis stays clean), then reported as a failure.
    const leftovers = a ? (await a.listLocks()).filter((l) => l.name.includes(runId)) : [];
    for (const lock of leftovers) await a.releaseTaskLock(lock.name, { force: true });
    await tasksA?.close();
    await tasksB?.close();
    await memory?.close();
    raw?.disconnect();
    expect(leftovers.map((l) => l.name)).toEqual([]);
  });

  return {
    get a() {
      return a;
    },
    get b() {
      return b;
    },
    get tasksA() {
      return tasksA;
    },
    get tasksB() {
      return tasksB;
    },
    async rawOwner(key) {
      if (raw) return (await raw.get(key)) ?? undefined;
      if (memory) return (await memory.list()).find((l) => l.name === key)?.owner;
      const row = await tasksA!.db
        .selectFrom('agentcore_task_lock')
        .select('owner')
        .where('name', '=', key)
        .executeTakeFirst();
      return row?.owner;
    },
    name(label) {
      return `${label}_${runId}_${++seq}`;
    },
  };
}

/** The backend key of a lock name. */
export const keyOf = (name: string) => `${LOCK_KEY_PREFIX}${name}`;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise to resolve from outside: holds a wrapped task "running" while the test looks at the lock. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
