import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger, ValidationError } from '../../src/index.js';
import { deferred, keyOf, LOCK_BACKENDS, sleep, useLockBackend } from './lock-backends.js';

describe.each(LOCK_BACKENDS)('task locks on %s', (backend) => {
  const fx = useLockBackend(backend);

  it('lets exactly one of 50 concurrent acquirers on two connections win', async () => {
    const name = fx.name('race');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? fx.a : fx.b).acquireTaskLock(name, 30)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true) % 2 === 0 ? fx.a : fx.b;
    const loser = winner === fx.a ? fx.b : fx.a;
    expect(await loser.isTaskLocked(name)).toBe(true);
    // The loser holds nothing, so it cannot release; the winner can, once.
    expect(await loser.releaseTaskLock(name)).toBe(false);
    expect(await winner.releaseTaskLock(name)).toBe(true);
    expect(await winner.releaseTaskLock(name)).toBe(false);
    expect(await fx.a.isTaskLocked(name)).toBe(false);
  });

  it('refuses a second acquisition by the holder itself', async () => {
    const name = fx.name('again');
    expect(await fx.a.acquireTaskLock(name, 30)).toBe(true);
    expect(await fx.a.acquireTaskLock(name, 30)).toBe(false);
    expect(await fx.a.releaseTaskLock(name)).toBe(true);
  });

  it('expires after its TTL, is taken over, and the first owner’s late release leaves the new lock alone', async () => {
    const name = fx.name('ttl');
    expect(await fx.a.acquireTaskLock(name, 0.3)).toBe(true);
    expect(await fx.b.acquireTaskLock(name, 30)).toBe(false);
    await sleep(450);
    expect(await fx.a.isTaskLocked(name)).toBe(false);
    expect(await fx.b.acquireTaskLock(name, 30)).toBe(true);
    const secondOwner = await fx.rawOwner(keyOf(name));
    expect(secondOwner).toBeDefined();

    expect(await fx.a.releaseTaskLock(name)).toBe(false);
    expect(await fx.a.isTaskLocked(name)).toBe(true);
    expect(await fx.rawOwner(keyOf(name))).toBe(secondOwner);
    expect(await fx.b.releaseTaskLock(name)).toBe(true);
    expect(await fx.rawOwner(keyOf(name))).toBeUndefined();
  });

  it('releases any holder’s lock with force', async () => {
    const name = fx.name('force');
    expect(await fx.a.acquireTaskLock(name, 30)).toBe(true);
    expect(await fx.b.releaseTaskLock(name)).toBe(false);
    expect(await fx.b.isTaskLocked(name)).toBe(true);
    expect(await fx.b.releaseTaskLock(name, { force: true })).toBe(true);
    expect(await fx.a.isTaskLocked(name)).toBe(false);
    // The forced-out holder's own release finds nothing of its own.
    expect(await fx.a.releaseTaskLock(name)).toBe(false);
    expect(await fx.b.acquireTaskLock(name, 30)).toBe(true);
    expect(await fx.b.releaseTaskLock(name)).toBe(true);
  });

  it('lists held locks with owner and expiry', async () => {
    const name = fx.name('list');
    const before = Date.now();
    expect(await fx.a.acquireTaskLock(name, 60)).toBe(true);
    const listed = (await fx.b.listLocks()).find((l) => l.name === name);
    expect(listed).toMatchObject({ name, key: keyOf(name), owner: await fx.rawOwner(keyOf(name)) });
    expect(listed!.owner).toMatch(/^[^:]+:\d+:[0-9a-f-]{36}$/);
    // Database clocks and ours agree within a second or so on the test machine.
    expect(listed!.expiresAt!.getTime()).toBeGreaterThan(before + 58_000);
    expect(listed!.expiresAt!.getTime()).toBeLessThan(Date.now() + 61_000);
    expect(await fx.a.releaseTaskLock(name)).toBe(true);
    expect((await fx.b.listLocks()).some((l) => l.name === name)).toBe(false);
  });

  it('preventDuplicateTask: one run per userId, the same user skipped with the exact payload, released after', async () => {
    const lockName = fx.name('sync_user');
    const gates = new Map([
      [1, deferred<string>()],
      [2, deferred<string>()],
    ]);
    const started: number[] = [];
    const run = async ({ userId }: { userId: number }) => {
      started.push(userId);
      return gates.get(userId)!.promise;
    };
    const syncOnA = fx.a.preventDuplicateTask({ lockName, lockParam: 'userId' }, run);
    const syncOnB = fx.b.preventDuplicateTask({ lockName, lockParam: 'userId' }, run);

    const first = syncOnA({ userId: 1 });
    const second = syncOnB({ userId: 2 });
    await expect.poll(() => started.length).toBe(2);
    expect(started.sort()).toEqual([1, 2]);

    const skipped = {
      success: false,
      status: 'skipped',
      reason: 'task_already_running',
      error: `Task ${lockName}_1 is already running`,
    };
    expect(await syncOnB({ userId: 1 })).toStrictEqual(skipped);
    expect(await syncOnA({ userId: 1 })).toStrictEqual(skipped);
    expect(started).toHaveLength(2);
    expect(await fx.a.isTaskLocked(`${lockName}_1`)).toBe(true);

    gates.get(1)!.resolve('done 1');
    gates.get(2)!.resolve('done 2');
    expect(await first).toBe('done 1');
    expect(await second).toBe('done 2');
    expect(await fx.a.isTaskLocked(`${lockName}_1`)).toBe(false);
    expect(await fx.a.isTaskLocked(`${lockName}_2`)).toBe(false);
  });

  it('preventDuplicateTask reads lockParam from a BullMQ-style job’s data, and releases after a throw', async () => {
    const lockName = fx.name('job');
    const gate = deferred();
    class FakeJob {
      // A job's own `name` must not be mistaken for `data.name`.
      name = 'job-name';
      constructor(readonly data: { name: string }) {}
    }
    let runs = 0;
    const wrapped = fx.a.preventDuplicateTask({ lockName, lockParam: 'name' }, async (job: FakeJob) => {
      runs++;
      await gate.promise;
      throw new Error(`boom ${job.data.name}`);
    });
    const running = wrapped(new FakeJob({ name: 'alice' }));
    await expect.poll(() => runs).toBe(1);
    expect(await fx.b.isTaskLocked(`${lockName}_alice`)).toBe(true);
    expect(
      await fx.b.preventDuplicateTask(
        { lockName, lockParam: 'name' },
        async (_job: { data: { name: string } }) => 'ran',
      )({
        data: { name: 'alice' },
      }),
    ).toMatchObject({
      reason: 'task_already_running',
      error: `Task ${lockName}_alice is already running`,
    });
    gate.resolve();
    await expect(running).rejects.toThrow('boom alice');
    expect(await fx.b.isTaskLocked(`${lockName}_alice`)).toBe(false);
    expect(await fx.b.acquireTaskLock(`${lockName}_alice`, 30)).toBe(true);
    expect(await fx.b.releaseTaskLock(`${lockName}_alice`)).toBe(true);
  });

  it('hashes a lockParam value over 200 characters into the key', async () => {
    const lockName = fx.name('long');
    const value = 'x'.repeat(150) + 'y'.repeat(60);
    const hashed = createHash('md5').update(value).digest('hex').slice(0, 16);
    const expectedKey = `agentcore_task_task_lock:${lockName}_${hashed}`;
    let seenKeys: string[] = [];
    let owner: string | undefined;
    const wrapped = fx.a.preventDuplicateTask(
      { lockName, lockParam: 'query', timeout: 30 },
      async (_: { query: string }) => {
        seenKeys = (await fx.b.listLocks()).map((l) => l.key);
        owner = await fx.rawOwner(expectedKey);
        return 'ok';
      },
    );
    expect(await wrapped({ query: value })).toBe('ok');
    expect(seenKeys).toContain(expectedKey);
    expect(owner).toMatch(/:\d+:/);
    expect(await fx.rawOwner(expectedKey)).toBeUndefined();
  });

  it('keeps the lock of a call whose lockParam is missing on the bare lock name', async () => {
    const lockName = fx.name('bare');
    const gate = deferred();
    const wrapped = fx.a.preventDuplicateTask(
      { lockName, lockParam: 'userId' },
      (_: { userId?: number }) => gate.promise,
    );
    const running = wrapped({});
    await expect.poll(() => fx.b.isTaskLocked(lockName)).toBe(true);
    gate.resolve();
    await running;
    expect(await fx.b.isTaskLocked(lockName)).toBe(false);
  });

  it('rejects a bad lock name or TTL as a ValidationError, before touching the backend', async () => {
    await expect(fx.a.acquireTaskLock('', 10)).rejects.toBeInstanceOf(ValidationError);
    await expect(fx.a.acquireTaskLock('a\u0000b', 10)).rejects.toMatchObject({ field: 'lockName' });
    await expect(fx.a.acquireTaskLock('a\ud800', 10)).rejects.toMatchObject({ field: 'lockName' });
    await expect(fx.a.acquireTaskLock(fx.name('ttl0'), 0)).rejects.toMatchObject({ field: 'timeoutSeconds' });
    expect(() => fx.a.preventDuplicateTask({ lockName: 'x', timeout: -1 }, () => 1)).toThrow(ValidationError);
  });

  it.runIf(backend !== 'memory')('exposes the lock on the instance itself', async () => {
    const tasks = fx.tasksA!;
    const name = fx.name('top');
    expect(await tasks.acquireTaskLock(name)).toBe(true);
    expect(await tasks.isTaskLocked(name)).toBe(true);
    expect(await tasks.releaseTaskLock(name)).toBe(true);
    const wrapped = tasks.preventDuplicateTask({ lockName: name }, (a: number, b: number) => a + b);
    expect(await wrapped(2, 3)).toBe(5);
  });
});

describe("lock: 'memory'", () => {
  it('holds locks per instance only', async () => {
    const one = await createAgentcoreTask({
      database: 'sqlite::memory:',
      lock: 'memory',
      logger: silentLogger,
      realtime: false,
    });
    const two = await createAgentcoreTask({
      database: 'sqlite::memory:',
      lock: 'memory',
      logger: silentLogger,
      realtime: false,
    });
    try {
      expect(await one.acquireTaskLock('memory-scope', 10)).toBe(true);
      expect(await one.acquireTaskLock('memory-scope', 10)).toBe(false);
      expect(await two.acquireTaskLock('memory-scope', 10)).toBe(true);
      expect(await one.locks.listLocks()).toHaveLength(1);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('rejects an unknown lock backend, or redis without a client', async () => {
    await expect(
      createAgentcoreTask({ database: 'sqlite::memory:', lock: 'zookeeper' as never, logger: silentLogger }),
    ).rejects.toMatchObject({ field: 'lock' });
    await expect(
      createAgentcoreTask({ database: 'sqlite::memory:', lock: 'redis', logger: silentLogger }),
    ).rejects.toMatchObject({
      field: 'lock',
    });
  });
});
