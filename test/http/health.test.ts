/**
 * `healthz` and `readyz`: unauthenticated, data-free; readiness asks the database (and Redis when configured) and
 * answers 503 naming what is down. Through the Web handler and both mounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase, useTestDatabase } from '../helpers/databases.js';
import { REDIS_URL } from '../helpers/env.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { MOUNTS, type Mounted, mount } from './mounts.js';

const getUser = () => null; // nobody is signed in: the probes must not need it

describe.each(MOUNTS)('health probes through the %s mount', (name) => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let mounted: Mounted;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'memory' });
    mounted = await mount(name, tasks, getUser);
  });
  afterAll(async () => {
    await mounted?.close();
    await tasks?.close();
  });

  it('healthz and readyz answer without a user, with no data', async () => {
    const health = await mounted.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('cache-control')).toBe('no-store');
    const ready = await mounted.request('/readyz/');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: 'ok' } });
    // Everything else still needs a user.
    expect((await mounted.request('/executions/')).status).toBe(401);
    expect((await mounted.request('/healthz', { method: 'POST' })).status).toBe(405);
  });
});

describe('readyz when a backend is down', () => {
  it('names the database (PostgreSQL behind a cut proxy) and recovers', async () => {
    const pg = await createTestDatabase('postgres');
    const target = new URL(pg.url);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    const port = await proxy.start();
    target.host = `127.0.0.1:${port}`;
    const tasks = await createAgentcoreTask({ database: target.toString(), logger: silentLogger, realtime: 'memory' });
    try {
      const handler = createHandler(tasks, { getUser });
      const ready = () => handler(new Request('http://test/readyz'));
      expect((await ready()).status).toBe(200);
      await proxy.cut();
      const down = await ready();
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', checks: { database: 'down' } });
      expect((await handler(new Request('http://test/healthz'))).status).toBe(200);
      await proxy.restore();
      await expect.poll(async () => (await ready()).status, { timeout: 10_000, interval: 200 }).toBe(200);
    } finally {
      await tasks.close();
      await proxy.close();
      await pg.drop();
    }
  }, 30_000);

  it('names Redis when it is configured and down', async () => {
    const redis = new URL(REDIS_URL);
    const proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
    const port = await proxy.start();
    const database = await createTestDatabase('sqlite');
    const tasks = await createAgentcoreTask({
      database: database.url,
      redis: `redis://127.0.0.1:${port}`,
      logger: silentLogger,
      realtime: 'memory',
    });
    try {
      const handler = createHandler(tasks, { getUser });
      const first = await handler(new Request('http://test/readyz'));
      expect(await first.json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
      await proxy.cut();
      const down = await handler(new Request('http://test/readyz'));
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'down' } });
    } finally {
      await proxy.restore();
      await tasks.close();
      await proxy.close();
      await database.drop();
    }
  }, 30_000);
});
