import { MissingDependencyError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The part of an ioredis client (`Redis`) the library uses. We type it here instead of importing ioredis's types so
 * `ioredis` stays an optional peer (as Kysely does for `pg`). An ioredis `Redis` instance satisfies it.
 */
export interface RedisLike {
  /** `'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end'` (ioredis). */
  readonly status: string;
  set(key: string, value: string, pxToken: 'PX', milliseconds: number, nxToken: 'NX'): Promise<'OK' | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  pttl(key: string): Promise<number>;
  scan(
    cursor: string,
    matchToken: 'MATCH',
    pattern: string,
    countToken: 'COUNT',
    count: number,
  ): Promise<[cursor: string, keys: string[]]>;
  eval(script: string, numKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: Array<string | number>): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  /**
   * A new connection with the same options, changed by `override` (ioredis options). For pub/sub (a subscribed
   * connection can do nothing else); a BullMQ Worker's blocking connection needs
   * `{ maxRetriesPerRequest: null, commandTimeout: undefined }`.
   */
  duplicate(override?: Record<string, unknown>): RedisLike;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** What `createAgentcoreTask({ redis })` accepts: a `redis://` / `rediss://` URL, or an ioredis instance (left open). */
export type RedisOption = string | RedisLike;

/** A Redis client and whether this library opened it (so `close()` must quit it). */
export interface RedisConnection {
  client: RedisLike;
  owned: boolean;
}

/**
 * A command on a connection we open fails after this long instead of waiting for Redis to come back, so a lock
 * acquisition fails closed in bounded time.
 */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 3_000;
/** Connection attempts give up after this long (an unreachable host that drops packets). */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 3_000;
/** Reconnect delay grows by this much per attempt … */
const RECONNECT_STEP_MS = 100;
/** … up to this cap, and never stops: the process recovers by itself when Redis comes back. */
const RECONNECT_MAX_DELAY_MS = 3_000;

/**
 * Options of the connections we open. Chosen so a down Redis never hangs or crashes the process: commands queued
 * while disconnected are rejected after one reconnect attempt or the command timeout, whichever comes first, while
 * the client keeps reconnecting with backoff in the background.
 */
export const REDIS_CONNECTION_OPTIONS = {
  maxRetriesPerRequest: 1,
  commandTimeout: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: DEFAULT_REDIS_CONNECT_TIMEOUT_MS,
  // Keep the offline queue: commands sent while the first connection is being made wait for it (bounded above).
  enableOfflineQueue: true,
  retryStrategy: (attempt: number) => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_DELAY_MS),
} as const;

type RedisConstructor = new (url: string, options: object) => RedisLike;

/**
 * Opens a client for a URL (loading ioredis on demand) or wraps the given one. A client we open logs the first error
 * of each outage and the recovery, instead of letting ioredis print every failed reconnect.
 */
export async function connectRedis(option: RedisOption, logger: Logger): Promise<RedisConnection> {
  if (typeof option !== 'string') return { client: option, owned: false };
  const Redis = await loadIoredis();
  const client = new Redis(option, REDIS_CONNECTION_OPTIONS);
  watchRedisConnection(client, logger, 'Redis');
  return { client, owned: true };
}

/**
 * `client.duplicate()` with the same error handling as `connectRedis`: use it for extra connections (pub/sub) so a
 * Redis outage is logged once, not once per reconnect attempt.
 */
export function duplicateRedis(client: RedisLike, logger: Logger, label = 'Redis'): RedisLike {
  const copy = client.duplicate();
  watchRedisConnection(copy, logger, label);
  return copy;
}

/** Quits a client we opened; falls back to dropping the socket when Redis does not answer. */
export async function closeRedis(client: RedisLike): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('QUIT timed out')), DEFAULT_REDIS_COMMAND_TIMEOUT_MS);
      }),
    ]);
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

function watchRedisConnection(client: RedisLike, logger: Logger, label: string): void {
  let down = false;
  // Without an 'error' listener ioredis reports every failed reconnect as an unhandled error event.
  client.on('error', (error) => {
    if (!down) logger.warn({ err: error }, `agentcore-task: ${label} connection error; reconnecting in the background`);
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({}, `agentcore-task: ${label} connection restored`);
    down = false;
  });
}

async function loadIoredis(): Promise<RedisConstructor> {
  try {
    const mod = (await import('ioredis')) as unknown as { default?: RedisConstructor; Redis?: RedisConstructor };
    const Redis = mod.Redis ?? mod.default;
    if (!Redis) throw new Error('ioredis has no Redis export');
    return Redis;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw new MissingDependencyError('ioredis', 'The redis option', { cause: error });
    throw error;
  }
}
