import { describe, it } from 'vitest';
import { LOCK_BACKENDS, type LockBackendName, type LockFixture, sleep, useLockBackend } from './lock-backends.js';

// The backends run side by side (each test waits 6+ seconds on timers, not on CPU).
describe('lock renewal', () => {
  const fixtures = Object.fromEntries(LOCK_BACKENDS.map((b) => [b, useLockBackend(b)])) as Record<
    LockBackendName,
    LockFixture
  >;

  it.concurrent.for(LOCK_BACKENDS)(
    'keeps a 2-second lock alive through a 6-second function on %s',
    async (backend, { expect }) => {
      const fx = fixtures[backend];
      const lockName = fx.name('renew');
      const probes: boolean[] = [];
      const started = Date.now();
      const wrapped = fx.a.preventDuplicateTask({ lockName, timeout: 2, renew: true }, async () => {
        // Probe past the first TTL (2 s) and several renewals later; every probe must find the lock held.
        for (const wait of [2500, 1500, 1500]) {
          await sleep(wait);
          probes.push(await fx.b.acquireTaskLock(lockName, 2));
        }
        await sleep(500);
        return 'finished';
      });
      expect(await wrapped()).toBe('finished');
      expect(Date.now() - started).toBeGreaterThanOrEqual(6000);
      expect(probes).toEqual([false, false, false]);
      expect(await fx.b.isTaskLocked(lockName)).toBe(false);
      // Renewal stopped with the function: a short lock taken now expires on time (no renewal tick extends it).
      expect(await fx.b.acquireTaskLock(lockName, 0.3)).toBe(true);
      await sleep(1100);
      expect(await fx.a.isTaskLocked(lockName)).toBe(false);
    },
  );

  it.concurrent.for(LOCK_BACKENDS)(
    'without renew, the lock is taken over once its TTL has passed on %s',
    async (backend, { expect }) => {
      const fx = fixtures[backend];
      const lockName = fx.name('norenew');
      let takenMidway: boolean | undefined;
      const wrapped = fx.a.preventDuplicateTask({ lockName, timeout: 0.4 }, async () => {
        await sleep(700);
        takenMidway = await fx.b.acquireTaskLock(lockName, 5);
      });
      await wrapped();
      expect(takenMidway).toBe(true);
      // The first holder's release in `finally` left the second holder's lock alone.
      expect(await fx.a.isTaskLocked(lockName)).toBe(true);
      expect(await fx.b.releaseTaskLock(lockName)).toBe(true);
    },
  );
});
