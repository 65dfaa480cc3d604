import type { ConnectionOptions } from 'bullmq';
import { ValidationError } from '../../errors.js';
import { redisOptionsFromUrl } from './connection.js';
import { loadBullmq } from './load.js';
import { type BullmqPostgresConnection, isPostgresConnection } from './postgres.js';

export { type BullmqPostgresConnection, isPostgresConnection };

/**
 * Where BullMQ queues live: Redis (a `redis://` URL, an ioredis instance or BullMQ connection options) or, with
 * bullmq 6, its PostgreSQL backend (a `postgres://` URL or `{ connectionString, schema }`).
 */
export type BullmqConnection = ConnectionOptions | string | BullmqPostgresConnection;

/** Options to open a BullMQ class with. */
export interface BackendOptions {
  /** BullMQ key prefix (Redis only). */
  prefix?: string;
  /** Create or upgrade BullMQ's PostgreSQL schema on connect (what a worker does; a reader does not). */
  migrate?: boolean;
  /** Most connections a PostgreSQL pool opened for one queue may hold. */
  max?: number;
  /** A PostgreSQL connection attempt gives up after this long. */
  connectionTimeoutMillis?: number;
}

/**
 * The options and backend factory to construct a BullMQ `Queue`/`Worker`/`QueueEvents` on `connection`:
 * `new Queue(name, opts, factory)`. Redis URLs become ioredis options (BullMQ opens and closes the connection); other
 * Redis connections are passed as they are, with no factory (BullMQ's Redis default on both majors). A PostgreSQL
 * connection needs bullmq 6.
 */
export async function backendFor(
  connection: BullmqConnection,
  purpose: string,
  options: BackendOptions = {},
): Promise<{ opts: Record<string, unknown>; factory?: unknown }> {
  if (isPostgresConnection(connection)) {
    const bullmq = (await loadBullmq(purpose)) as unknown as { createPostgresBackend?: unknown };
    if (typeof bullmq.createPostgresBackend !== 'function')
      throw new ValidationError(
        `${purpose} on PostgreSQL needs bullmq 6 (its PostgreSQL backend); the installed bullmq has none`,
        'connection',
      );
    const config = typeof connection === 'string' ? { connectionString: connection } : connection;
    return {
      opts: {
        connection: {
          ...config,
          ...(options.migrate ? { migrate: true } : {}),
          ...(options.max ? { max: options.max } : {}),
          ...(options.connectionTimeoutMillis ? { connectionTimeoutMillis: options.connectionTimeoutMillis } : {}),
        },
      },
      factory: bullmq.createPostgresBackend,
    };
  }
  const redis = typeof connection === 'string' ? redisOptionsFromUrl(connection) : connection;
  return { opts: { connection: redis, ...(options.prefix ? { prefix: options.prefix } : {}) } };
}
