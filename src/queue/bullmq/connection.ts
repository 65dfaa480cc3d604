import type { RedisOptions } from 'bullmq';
import { ValidationError } from '../../errors.js';

/** `redis://user:pass@host:port/db` (or `rediss://`) as ioredis options, so BullMQ opens and closes the connection. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new ValidationError(`expected a redis:// or rediss:// URL, got ${u.protocol}`, 'redis');
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
