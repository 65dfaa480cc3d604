/**
 * Part 6 — locks. `acquireTaskLock` + `releaseTaskLock` pairs per second on Redis and on PostgreSQL, against the raw
 * client doing the least that gives a lock: `SET key token NX PX` + `DEL` on Redis, `INSERT` + `DELETE` of a row in
 * `agentcore_task_lock` on PostgreSQL. Same connection(s), same concurrency, distinct names (no contention: this
 * measures the cost per pair, not the wait for a held lock).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createAgentcoreTask, LOCK_KEY_PREFIX, silentLogger } from '../../src/index.js';
import { DEFAULT_POOL_SIZE } from '../../src/store/connect.js';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { REDIS_URL } from '../../test/helpers/env.js';
import { bestOf, rate, rawPgPool, throughput } from '../lib.js';

const PART = '6 locks';

export async function locks(opts: { pairs: number }) {
  const run = randomBytes(4).toString('hex');
  const concurrency = DEFAULT_POOL_SIZE;

  // Redis: one client each (ours pipelines on one connection, as does the raw one).
  {
    const tasks = await createAgentcoreTask({
      database: 'sqlite::memory:',
      redis: REDIS_URL,
      lock: 'redis',
      realtime: false,
      logger: silentLogger,
      env: {},
    });
    const raw = new Redis(REDIS_URL);
    const key = (i: number) => `${LOCK_KEY_PREFIX}bench-raw-${run}-${i % concurrency}-${i}`;
    const rawPair = async (i: number) => {
      const k = key(i);
      if ((await raw.set(k, 'token', 'PX', 60_000, 'NX')) !== 'OK') throw new Error('raw SET NX failed');
      await raw.del(k);
    };
    const oursPair = async (i: number) => {
      const name = `bench-ours-${run}-${i}`;
      if (!(await tasks.acquireTaskLock(name, 60))) throw new Error('acquireTaskLock failed');
      await tasks.releaseTaskLock(name);
    };
    await rate(500, concurrency, rawPair);
    await rate(500, concurrency, (i) => oursPair(1e9 + i));
    const [oursRate, rawRate] = await bestOf(2, [
      (round) => rate(opts.pairs, concurrency, (i) => oursPair(round * opts.pairs + i)),
      (round) => rate(opts.pairs, concurrency, (i) => rawPair(round * opts.pairs + i)),
    ]);
    throughput(
      PART,
      'redis acquire+release',
      'pairs/s',
      oursRate,
      rawRate,
      null,
      `raw SET NX PX + DEL; ours adds Lua compare-and-delete; ${concurrency} in flight`,
    );
    raw.disconnect();
    await tasks.close();
  }

  // PostgreSQL: the database lock table, same pool size.
  {
    const db = await createTestDatabase('postgres');
    const tasks = await createAgentcoreTask({
      database: db.url,
      lock: 'database',
      realtime: false,
      logger: silentLogger,
      env: {},
    });
    const pool = rawPgPool(db.url);
    const rawPair = async (i: number) => {
      const name = `${LOCK_KEY_PREFIX}bench-raw-${i}`;
      await pool.query(
        "insert into agentcore_task_lock (name, owner, expires_at, created_at) values ($1, 'token', now() + interval '60 seconds', now())",
        [name],
      );
      await pool.query('delete from agentcore_task_lock where name = $1', [name]);
    };
    const oursPair = async (i: number) => {
      const name = `bench-ours-${i}`;
      if (!(await tasks.acquireTaskLock(name, 60))) throw new Error('acquireTaskLock failed');
      await tasks.releaseTaskLock(name);
    };
    await rate(500, concurrency, (i) => rawPair(1e9 + i));
    await rate(500, concurrency, (i) => oursPair(1e9 + i));
    const [oursRate, rawRate] = await bestOf(2, [
      (round) => rate(opts.pairs, concurrency, (i) => oursPair(round * opts.pairs + i)),
      (round) => rate(opts.pairs, concurrency, (i) => rawPair(round * opts.pairs + i)),
    ]);
    throughput(
      PART,
      'postgres acquire+release',
      'pairs/s',
      oursRate,
      rawRate,
      null,
      `raw INSERT + DELETE; ours: upsert taking over expired rows + owner-checked DELETE; pool ${DEFAULT_POOL_SIZE}`,
    );
    await pool.end();
    await tasks.close();
    await db.drop();
  }
}
