import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

describe('recording survives a database outage (PostgreSQL behind a cut connection)', () => {
  let db: TestDatabase;
  const proxy = new TcpProxy('127.0.0.1', 5432);
  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  it('acknowledges writes while the database is unreachable, never throws, and lands them in order', async () => {
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const tasks = await createAgentcoreTask({ database: url.toString(), logger: silentLogger, env: {} });
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `outage-${i}`);
      for (const taskId of ids) await tasks.registerTaskExecution({ taskId, taskName: 'job', module: 'm' });
      await proxy.cut();
      const started = Date.now();
      const results = await Promise.all(
        ids.map(async (taskId, i) => {
          await tasks.tracker.updateTaskStatus(taskId, 'STARTED');
          for (let p = 1; p <= 5; p++) await tasks.tracker.reportProgress(taskId, { percent: p * 20, step: `s${p}` });
          return tasks.tracker.updateTaskStatus(taskId, i % 2 ? 'SUCCESS' : 'FAILURE', {
            result: { i },
            error: i % 2 ? undefined : 'bad',
          });
        }),
      );
      // Acknowledged (buffered), not thrown, and quickly: the task is not held up by the outage.
      expect(results.every((r) => r === null)).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(tasks.tracker.pendingWrites).toBeGreaterThan(0);
      await proxy.restore();
      expect(await tasks.tracker.flush(30_000)).toBe(true);
      for (const [i, taskId] of ids.entries()) {
        const row = await tasks.tracker.getTask(taskId);
        expect(row!.status).toBe(i % 2 ? 'SUCCESS' : 'FAILURE');
        expect(row!.result).toEqual({ i });
        expect(row!.metadata).toMatchObject({ progress_percent: 100, progress_step: 's5' });
        expect(row!.startedAt).not.toBeNull();
      }
    } finally {
      await proxy.restore().catch(() => {});
      await tasks.close();
    }
  }, 60_000);
});
