import type { Kysely } from 'kysely';
import { ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DatabaseOption } from '../store/connect.js';
import type { DialectName } from '../store/dialect.js';
import type { Database } from '../store/schema.js';
import { type ChangeFeed, type DeletedExecution, type ExecutionChange, MemoryChangeFeed } from './feed.js';
import { connectFromPool, connectFromUrl, createPostgresChangeFeed, type PgPoolLike } from './postgres/feed.js';
import { createRedisChangeFeed, type RedisPubSubClient } from './redis/feed.js';

/** How changes reach subscribers: across processes (`'postgres'`, `'redis'`), in this process only, or not at all. */
export type RealtimeOption = 'postgres' | 'redis' | 'memory' | false;

export interface ChangeFeedContext {
  realtime: RealtimeOption | undefined;
  /** The `database` option as given (a URL, a pool, a Kysely instance). */
  database: DatabaseOption;
  db: Kysely<Database>;
  dialect: DialectName;
  redis: RedisPubSubClient | undefined;
  /** Overrides the channel name (LISTEN channel or Redis pub/sub channel). */
  channel: string | undefined;
  logger: Logger;
}

/** A feed for `realtime: false`: nothing is published, subscribers are never called. */
class DisabledChangeFeed implements ChangeFeed {
  async publish(_change: ExecutionChange): Promise<void> {}
  async publishDeleted(_runs: readonly DeletedExecution[]): Promise<void> {}
  subscribe(): () => void {
    return () => {};
  }
  async close(): Promise<void> {}
}

/**
 * Picks and starts the change feed: the `realtime` option, else Redis when a Redis client is configured,
 * else PostgreSQL LISTEN/NOTIFY on a PostgreSQL database, else memory.
 */
export async function createChangeFeed(context: ChangeFeedContext): Promise<ChangeFeed> {
  const { realtime, logger } = context;
  if (realtime === false) return new DisabledChangeFeed();
  if (realtime !== undefined && !['postgres', 'redis', 'memory'].includes(realtime))
    throw new ValidationError(
      `realtime must be 'postgres', 'redis', 'memory' or false, got ${JSON.stringify(realtime)}`,
      'realtime',
    );
  const choice = realtime ?? (context.redis ? 'redis' : context.dialect === 'postgres' ? 'postgres' : 'memory');
  if (choice === 'redis') {
    if (!context.redis) throw new ValidationError("realtime 'redis' needs the redis option", 'realtime');
    return createRedisChangeFeed({ redis: context.redis, logger, channel: context.channel });
  }
  if (choice === 'postgres') {
    if (context.dialect !== 'postgres')
      throw new ValidationError("realtime 'postgres' needs a PostgreSQL database", 'realtime');
    const connect = listenConnector(context.database);
    if (!connect) {
      // A Kysely instance hides its pool, so there is no way to hold a connection for LISTEN.
      if (realtime === 'postgres')
        throw new ValidationError(
          "realtime 'postgres' needs the database as a postgres:// URL or a pg.Pool",
          'realtime',
        );
      logger.warn(
        {},
        'agentcore-task: live updates stay in this process (pass a postgres:// URL or pg.Pool for LISTEN/NOTIFY)',
      );
      return new MemoryChangeFeed();
    }
    return createPostgresChangeFeed({ db: context.db, connect, logger, channel: context.channel });
  }
  return new MemoryChangeFeed();
}

function listenConnector(database: DatabaseOption) {
  if (typeof database === 'string') return connectFromUrl(database);
  if (typeof database === 'object' && database !== null && 'connect' in database && 'query' in database)
    return connectFromPool(database as unknown as PgPoolLike);
  return undefined;
}
