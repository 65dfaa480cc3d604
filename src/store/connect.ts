import {
  Kysely,
  MysqlAdapter,
  MysqlDialect,
  PostgresAdapter,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
} from 'kysely';
import { MissingDependencyError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DialectName, SqlDialect } from './dialect.js';
import { mysqlDialect } from './mysql/dialect.js';
import { postgresDialect } from './postgres/dialect.js';
import { type PgPool, withPreparedStatements } from './postgres/prepared.js';
import type { Database } from './schema.js';
import { sqliteDialect } from './sqlite/dialect.js';

/**
 * What `createAgentcoreTask({ database })` accepts: a URL (`postgres://…`, `mysql://…`, `sqlite:PATH`,
 * `sqlite::memory:`), an existing Kysely instance, or an existing `pg.Pool`, mysql2 pool or better-sqlite3 database.
 * We type only what we touch of the drivers, so none of them is a hard dependency (as Kysely does).
 */
// biome-ignore lint/suspicious/noExplicitAny: a host's Kysely instance has its own table types; we only add ours.
type AnyKysely = Kysely<any>;

export type DatabaseOption = string | AnyKysely | { kysely: AnyKysely; dialect?: DialectName } | PoolLike;

/** Structural types of the driver objects we accept (we never import the drivers' types). */
export type PoolLike =
  | { connect: (...args: never[]) => unknown; query: (...args: never[]) => unknown; totalCount?: number }
  | { getConnection: (...args: never[]) => unknown; pool?: unknown }
  | { prepare: (sql: string) => unknown; pragma: (...args: never[]) => unknown };

export interface Connection {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** `true` when we opened it, so `close()` must destroy it. */
  owned: boolean;
}

const DIALECTS: Record<DialectName, SqlDialect> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  sqlite: sqliteDialect,
};

/** Default pool size for connections we open. */
export const DEFAULT_POOL_SIZE = 10;

async function load<T>(pkg: string, purpose: string): Promise<T> {
  try {
    const mod = (await import(pkg)) as { default?: T } & T;
    return (mod.default ?? mod) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw new MissingDependencyError(pkg, purpose, { cause: error });
    throw error;
  }
}

/** How `connectDatabase` connects. */
export interface ConnectOptions {
  /**
   * Send the hot PostgreSQL writes as named prepared statements (see `postgres/prepared.ts`) on a pool we open or are
   * given; a given Kysely instance is used as it is. @defaultValue `true`
   */
  preparedStatements?: boolean;
}

/** Opens (or wraps) the database described by `option`. */
export async function connectDatabase(
  option: DatabaseOption,
  logger: Logger,
  options: ConnectOptions = {},
): Promise<Connection> {
  const postgresPool = (pool: PgPool) =>
    options.preparedStatements === false ? pool : withPreparedStatements(pool, logger);
  if (typeof option === 'string') return openUrl(option, logger, postgresPool);
  if (option instanceof Kysely) return { db: option as Kysely<Database>, dialect: detect(option), owned: false };
  if ('kysely' in option && option.kysely instanceof Kysely) {
    const dialect = option.dialect ? DIALECTS[option.dialect] : detect(option.kysely);
    return { db: option.kysely as Kysely<Database>, dialect, owned: false };
  }
  if ('prepare' in option && 'pragma' in option) {
    return {
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(option) as never }) }),
      dialect: sqliteDialect,
      owned: false,
    };
  }
  if ('getConnection' in option) {
    return {
      db: new Kysely<Database>({ dialect: new MysqlDialect({ pool: option as never }) }),
      dialect: mysqlDialect,
      owned: false,
    };
  }
  if ('connect' in option && 'query' in option) {
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(option as never) as never }) }),
      dialect: postgresDialect,
      owned: false,
    };
  }
  throw new ValidationError(
    'database must be a URL, a Kysely instance, a pg.Pool, a mysql2 pool or a better-sqlite3 database',
    'database',
  );
}

function detect(db: AnyKysely): SqlDialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return postgresDialect;
  if (adapter instanceof MysqlAdapter) return mysqlDialect;
  if (adapter instanceof SqliteAdapter) return sqliteDialect;
  throw new ValidationError('cannot tell the dialect of this Kysely instance: pass { kysely, dialect }', 'database');
}

/** Which dialect a URL names, without opening it. */
export function dialectOfUrl(url: string): DialectName {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//i.test(url)) return 'mysql';
  if (/^sqlite:/i.test(url)) return 'sqlite';
  throw new ValidationError(
    `unsupported database URL "${redact(url)}": use postgres://…, mysql://…, sqlite:PATH or sqlite::memory:`,
    'database',
  );
}

/** The URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function openUrl(url: string, logger: Logger, postgresPool: (pool: PgPool) => PgPool): Promise<Connection> {
  const name = dialectOfUrl(url);
  if (name === 'postgres') {
    const pg = await load<{ Pool: new (config: object) => PoolWithEvents }>('pg', 'A postgres:// database');
    const pool = new pg.Pool({ connectionString: url, max: DEFAULT_POOL_SIZE });
    // An idle client losing its connection (database restart) must not crash the process.
    pool.on('error', (error) => logger.warn({ err: error }, 'PostgreSQL idle client error'));
    // A client checked out for a query emits 'error' when its connection dies (database restart); pg-pool only
    // listens on idle clients, and an unheard 'error' event would crash the process. The query itself still rejects.
    pool.on('connect', (client) => {
      (client as PoolWithEvents).on('error', (error) => logger.warn({ err: error }, 'PostgreSQL connection lost'));
    });
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(pool as never) as never }) }),
      dialect: postgresDialect,
      owned: true,
    };
  }
  if (name === 'mysql') {
    const mysql = await load<{ createPool: (config: object) => PoolWithEvents }>('mysql2', 'A mysql:// database');
    const pool = mysql.createPool({
      uri: url.replace(/^mariadb:/i, 'mysql:'),
      connectionLimit: DEFAULT_POOL_SIZE,
      timezone: 'Z',
      dateStrings: false,
      // JSON columns as text, parsed once by the dialect. (mysql2 parses MySQL's JSON type and MariaDB's JSON-flagged
      // LONGTEXT itself otherwise; a type cast that only looks at `type` parsed MariaDB's twice, so a stored "12" read
      // back as 12.)
      jsonStrings: true,
    });
    return {
      db: new Kysely<Database>({ dialect: new MysqlDialect({ pool: pool as never }) }),
      dialect: mysqlDialect,
      owned: true,
    };
  }
  const Sqlite = await load<new (path: string, options?: object) => SqliteDb>('better-sqlite3', 'A sqlite: database');
  const path = url.replace(/^sqlite:(\/\/)?/i, '') || ':memory:';
  const database = new Sqlite(path);
  if (path !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) as never }) }),
    dialect: sqliteDialect,
    owned: true,
  };
}

/** Statements kept prepared per SQLite database; the library uses a few dozen distinct ones. */
const MAX_CACHED_STATEMENTS = 256;

/**
 * Kysely asks better-sqlite3 to prepare every statement it runs, and preparing costs about as much as running a small
 * write. This hands back the statement prepared the last time for the same SQL (bounded, oldest dropped). Safe because
 * Kysely runs one query at a time on a SQLite connection, so a statement is never in use twice at once.
 */
function withStatementCache<T extends { prepare(source: string): unknown }>(database: T): T {
  const cache = new Map<string, unknown>();
  const prepare = (source: string) => {
    let statement = cache.get(source);
    if (statement === undefined) {
      statement = database.prepare(source);
      if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  };
  return new Proxy(database, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

interface PoolWithEvents {
  on(event: 'error' | 'connect', listener: (arg: unknown) => void): void;
}
interface SqliteDb {
  pragma(source: string): unknown;
  prepare(source: string): unknown;
  close(): void;
}
