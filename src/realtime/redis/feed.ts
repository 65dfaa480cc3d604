import type { Logger } from '../../logger.js';
import { BroadcastChangeFeed, type BroadcastTransport } from '../broadcast.js';

/** Default pub/sub channel. Applications sharing one Redis but not one database should each set their own. */
export const DEFAULT_REDIS_CHANNEL = 'agentcore_task:execution';

/** The part of an ioredis client we use. Typed here so `ioredis` stays an optional peer. */
export interface RedisPubSubClient {
  duplicate(): RedisPubSubClient;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

export interface RedisFeedOptions {
  /** The instance's Redis client; the feed duplicates it (a subscribed connection can do nothing else). */
  redis: RedisPubSubClient;
  logger: Logger;
  /** @defaultValue `'agentcore_task:execution'` */
  channel?: string;
}

/**
 * Cross-process change feed over Redis pub/sub. It opens two connections of its own (duplicates of the given client):
 * one subscribed, one to publish, so its lifetime does not depend on the host's client. ioredis reconnects and
 * re-subscribes by itself after Redis restarts.
 */
export async function createRedisChangeFeed(options: RedisFeedOptions): Promise<BroadcastChangeFeed> {
  const feed = new BroadcastChangeFeed(new RedisTransport(options), { logger: options.logger });
  await feed.start();
  return feed;
}

class RedisTransport implements BroadcastTransport {
  private readonly channel: string;
  private readonly publisher: RedisPubSubClient;
  private readonly subscriber: RedisPubSubClient;
  private down = false;

  constructor(private readonly options: RedisFeedOptions) {
    this.channel = options.channel ?? DEFAULT_REDIS_CHANNEL;
    this.publisher = options.redis.duplicate();
    this.subscriber = options.redis.duplicate();
    // ioredis emits 'error' on every failed reconnect; an unhandled one would crash the process. Log once per outage.
    const onError = (error: Error) => {
      if (!this.down)
        options.logger.warn({ err: error }, 'agentcore-task: Redis pub/sub connection error; reconnecting');
      this.down = true;
    };
    this.publisher.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('ready', () => {
      if (this.down)
        options.logger.info({ channel: this.channel }, 'agentcore-task: Redis pub/sub connection restored');
      this.down = false;
    });
  }

  async send(messages: string[]): Promise<void> {
    // ioredis writes them back to back on the one connection (no round trip each).
    await Promise.all(messages.map((message) => this.publisher.publish(this.channel, message)));
  }

  async listen(onMessage: (message: string) => void): Promise<void> {
    this.subscriber.on('message', (channel, message) => {
      if (channel === this.channel) onMessage(message);
    });
    try {
      await this.subscriber.subscribe(this.channel);
    } catch (error) {
      // ioredis keeps retrying and re-subscribes when it is back; the feed works locally meanwhile.
      this.options.logger.warn({ err: error }, 'agentcore-task: Redis SUBSCRIBE failed; will retry on reconnect');
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.subscriber, this.publisher].map((client) => client.quit().catch(() => client.disconnect())),
    );
  }
}
