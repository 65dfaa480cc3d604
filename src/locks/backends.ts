import type { Kysely } from 'kysely';
import { ValidationError } from '../errors.js';
import type { RedisLike } from '../redis.js';
import type { DialectName } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { DatabaseLockProvider } from './database/database-lock-provider.js';
import { MemoryLockProvider } from './memory/memory-lock-provider.js';
import type { LockProvider } from './provider.js';
import { RedisLockProvider } from './redis/redis-lock-provider.js';
import { LOCK_KEY_PREFIX } from './task-locks.js';

/** Where task locks live. */
export type LockBackend = 'redis' | 'database' | 'memory';

const BACKENDS: readonly LockBackend[] = ['redis', 'database', 'memory'];

export interface LockBackendContext {
  db: Kysely<Database>;
  dialect: DialectName;
  redis: RedisLike | undefined;
}

/** The provider for the `lock` option: Redis when a client is configured, else the database. */
export function createLockProvider(lock: LockBackend | undefined, context: LockBackendContext): LockProvider {
  if (lock !== undefined && !BACKENDS.includes(lock))
    throw new ValidationError(`lock must be 'redis', 'database' or 'memory', got ${JSON.stringify(lock)}`, 'lock');
  const choice = lock ?? (context.redis ? 'redis' : 'database');
  if (choice === 'redis') {
    if (!context.redis) throw new ValidationError("lock 'redis' needs the redis option", 'lock');
    return new RedisLockProvider({ client: context.redis, prefix: LOCK_KEY_PREFIX });
  }
  if (choice === 'memory') return new MemoryLockProvider();
  return new DatabaseLockProvider(context.db, context.dialect);
}
