import { type Kysely, sql } from 'kysely';
import { MissingDependencyError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Database } from '../../store/schema.js';
import { BroadcastChangeFeed, type BroadcastTransport, reconnectDelay } from '../broadcast.js';

/** Default LISTEN/NOTIFY channel (NOTIFY is per database, so two databases on one server never mix). */
export const DEFAULT_POSTGRES_CHANNEL = 'agentcore_task_execution';

/** The part of a `pg.Client` we use. We type it here so `pg` stays an optional peer (as Kysely does). */
export interface PgListenClient {
  connect?(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** A dedicated connection for LISTEN and how to give it back (end a client, or release it to its pool). */
export interface PgListenConnection {
  client: PgListenClient;
  release(error?: unknown): Promise<void>;
}

export interface PostgresFeedOptions {
  /** Sends `select pg_notify(channel, payload)` through the instance's pool. */
  db: Kysely<Database>;
  /** Opens the dedicated LISTEN connection; called again after a lost connection. */
  connect: () => Promise<PgListenConnection>;
  logger: Logger;
  /** @defaultValue `'agentcore_task_execution'` */
  channel?: string;
}

/**
 * Cross-process change feed over PostgreSQL LISTEN/NOTIFY: one dedicated connection listens; notifications go out
 * through the pool with `pg_notify` (bound parameters, no identifier quoting needed). After a lost connection
 * (database restart) it reconnects with backoff and listens again.
 */
export async function createPostgresChangeFeed(options: PostgresFeedOptions): Promise<BroadcastChangeFeed> {
  const feed = new BroadcastChangeFeed(new PostgresTransport(options), { logger: options.logger });
  await feed.start();
  return feed;
}

class PostgresTransport implements BroadcastTransport {
  private readonly channel: string;
  private connection: PgListenConnection | undefined;
  private onMessage: ((message: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;

  constructor(private readonly options: PostgresFeedOptions) {
    this.channel = options.channel ?? DEFAULT_POSTGRES_CHANNEL;
  }

  async send(messages: string[]): Promise<void> {
    // One statement, so one transaction and one commit (each NOTIFY takes a commit of its own otherwise). That commit
    // need not wait for the WAL flush: a notification is not durable anyway, and the writers of the runs then do not
    // queue behind a flush for it. A parameter per message: a text[] parameter would have the driver escape every quote.
    const notify = messages.map((message) => sql`pg_notify(${this.channel}, ${message})`);
    await sql`select set_config('synchronous_commit', 'off', true), ${sql.join(notify)}`.execute(this.options.db);
  }

  async listen(onMessage: (message: string) => void): Promise<void> {
    this.onMessage = onMessage;
    await this.open();
  }

  /** Connects and LISTENs; on failure schedules the next attempt instead of throwing (background code reports). */
  private async open(): Promise<void> {
    if (this.closed) return;
    let connection: PgListenConnection | undefined;
    try {
      connection = await this.options.connect();
      const { client } = connection;
      client.on('notification', (n) => {
        if (n.channel === this.channel && n.payload !== undefined) this.onMessage?.(n.payload);
      });
      client.on('error', (error) => this.lost(connection, error));
      client.on('end', () => this.lost(connection));
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
      if (this.closed) {
        await this.dispose(connection);
        return;
      }
      if (this.attempt > 0)
        this.options.logger.info({ channel: this.channel }, 'agentcore-task: LISTEN connection restored');
      this.attempt = 0;
      this.connection = connection;
    } catch (error) {
      if (connection) await this.dispose(connection, error);
      this.retry(error);
    }
  }

  private lost(connection: PgListenConnection | undefined, error?: unknown): void {
    if (this.closed || !connection || this.connection !== connection) return;
    this.connection = undefined;
    void this.dispose(connection, error ?? new Error('connection ended'));
    this.retry(error ?? new Error('connection ended'));
  }

  private retry(error: unknown): void {
    if (this.closed || this.timer) return;
    const delay = reconnectDelay(this.attempt++);
    if (this.attempt === 1)
      this.options.logger.warn(
        { err: error, retryInMs: delay },
        'agentcore-task: LISTEN connection lost; reconnecting',
      );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, delay);
    this.timer.unref?.();
  }

  private async dispose(connection: PgListenConnection, error?: unknown): Promise<void> {
    connection.client.removeAllListeners('notification');
    connection.client.removeAllListeners('end');
    // keep an 'error' listener: a late socket error on a dropped client must not crash the process
    connection.client.removeAllListeners('error');
    connection.client.on('error', () => {});
    await connection.release(error).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) {
      await connection.client.query(`UNLISTEN ${quoteIdent(this.channel)}`).catch(() => {});
      await this.dispose(connection);
    }
  }
}

/** LISTEN takes an identifier, not a parameter. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface PgModule {
  Client: new (config: {
    connectionString: string;
  }) => PgListenClient & { connect(): Promise<unknown>; end(): Promise<void> };
}

/** Opens dedicated LISTEN connections from a `postgres://` URL with its own `pg.Client`. */
export function connectFromUrl(url: string): () => Promise<PgListenConnection> {
  return async () => {
    let pg: PgModule;
    try {
      const mod = (await import('pg')) as { default?: PgModule } & PgModule;
      pg = mod.default ?? mod;
    } catch (error) {
      throw new MissingDependencyError('pg', 'PostgreSQL LISTEN/NOTIFY', { cause: error });
    }
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {}); // errors before listen() attaches its own are reported through connect()
    await client.connect();
    return { client, release: () => client.end().catch(() => {}) };
  };
}

/** The part of a `pg.Pool` we use for LISTEN: a client checked out for as long as we listen. */
export interface PgPoolLike {
  connect(): Promise<PgListenClient & { release(error?: unknown): void }>;
}

/** Opens dedicated LISTEN connections by checking a client out of the host's `pg.Pool` (returned on close). */
export function connectFromPool(pool: PgPoolLike): () => Promise<PgListenConnection> {
  return async () => {
    const client = await pool.connect();
    return {
      client,
      // Releasing with an error makes the pool destroy the client instead of reusing a LISTENing or broken one.
      release: async (error?: unknown) => client.release(error ?? true),
    };
  };
}
