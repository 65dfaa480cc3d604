/**
 * Opening the database for the one-shot commands (`migrate`, `list`, `show`, `stats`, `cleanup`, `mark-timeout`), and
 * turning what can go wrong into messages that say what to do.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { type AgentcoreTask, createAgentcoreTask, DEFAULT_DATABASE_URL } from '../create.js';
import { coerceError, MissingDependencyError, ValidationError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { closeRedis, connectRedis } from '../redis.js';
import { dialectOfUrl, redact } from '../store/connect.js';
import { isConnectionError } from '../store/dialect.js';
import { type CliIo, redactUrl, UsageError } from './command.js';

/** Help line of `--database`, shared by every command. */
export const DATABASE_HELP = `--database URL   postgres://…, mysql://…, sqlite:PATH (default: $DATABASE_URL or ${DEFAULT_DATABASE_URL})`;

/** `--database`, else `$DATABASE_URL` (empty counts as unset, as in docker-compose files), else the default. */
export function databaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option || env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** How a command opens the database. */
export interface OpenOptions {
  /**
   * Apply the schema (only `migrate` does). The other commands expect it and say to run `migrate` when it is missing,
   * so a mistyped URL never leaves a new empty database (or SQLite file) behind.
   */
  migrate?: boolean;
  /**
   * Publish the changes this command makes to other processes (servers streaming to dashboards), on the library's
   * default feed for this database and Redis. Read-only commands leave it off and open no listener.
   * @defaultValue `false`
   */
  publish?: boolean;
  /** Redis (`redis://…`): locks, publishing, and BullMQ sync for the commands that use them. */
  redis?: string;
}

/**
 * Opens an instance on `url` and checks that the database answers. Every failure is an `Error` whose message names the
 * URL (password hidden) and the fix: start the database, install the driver, run `migrate`, or fix `--database`.
 */
export async function openTasks(url: string, io: CliIo, options: OpenOptions = {}): Promise<AgentcoreTask> {
  let dialect: ReturnType<typeof dialectOfUrl>;
  try {
    dialect = dialectOfUrl(url);
  } catch (error) {
    throw new UsageError(`--database: ${(error as Error).message}`);
  }
  if (dialect === 'sqlite' && !options.migrate) {
    const path = url.replace(/^sqlite:(\/\/)?/i, '');
    if (path !== '' && path !== ':memory:' && !existsSync(path))
      throw new Error(
        `no SQLite database at ${resolve(path)}: check --database (or DATABASE_URL), or create it with "agentcore-task migrate --database ${url}"`,
      );
  }
  if (options.redis) await checkRedis(options.redis);
  let tasks: AgentcoreTask;
  try {
    tasks = await createAgentcoreTask({
      database: url,
      migrate: false,
      ...(options.publish ? {} : { realtime: false as const }),
      env: io.env,
      ...(options.redis ? { redis: options.redis } : {}),
    });
  } catch (error) {
    throw explainDatabaseError(error, url);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    // Drivers wait for an unroutable host for minutes (pg has no connect timeout by default): give up sooner.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectTimeoutError(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    await Promise.race([sql`select 1`.execute(tasks.db), timeout]);
  } catch (error) {
    // A connection attempt still in flight may keep close() waiting: do not wait for it long.
    await Promise.race([tasks.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
    throw explainDatabaseError(error, url);
  } finally {
    clearTimeout(timer);
  }
  return tasks;
}

/**
 * Fails with a message that says what to do when Redis does not answer. The library would keep reconnecting in the
 * background (right for a long-running process); a one-shot command that was asked to use Redis should stop instead.
 */
async function checkRedis(url: string): Promise<void> {
  const { client } = await connectRedis(url, silentLogger);
  // The command fails with "max retries"; the connection error says why.
  let connectionError: Error | undefined;
  client.on('error', (error) => {
    connectionError ??= error;
  });
  try {
    await client.exists('agentcore_task:cli-probe');
  } catch (error) {
    throw new Error(
      `cannot reach Redis at ${hidePassword(url)} (${(connectionError ?? coerceError(error)).message}): is it running and reachable from here? Start it, or fix --redis (or REDIS_URL)`,
      { cause: error },
    );
  } finally {
    await closeRedis(client);
  }
}

/**
 * Runs `fn` with an instance on `url` and closes it afterwards, whatever happens; database errors are explained as in
 * `openTasks`.
 */
export async function withTasks<T>(
  url: string,
  io: CliIo,
  options: OpenOptions,
  fn: (tasks: AgentcoreTask) => Promise<T>,
): Promise<T> {
  const tasks = await openTasks(url, io, options);
  try {
    return await fn(tasks);
  } catch (error) {
    throw explainDatabaseError(error, url);
  } finally {
    await tasks.close();
  }
}

/** How long the first query may take before the database counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 10_000;

class ConnectTimeoutError extends Error {
  override name = 'ConnectTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/** The URL with any password hidden (also `scheme://:password@host`, which has no user name). */
export function hidePassword(url: string): string {
  return redact(redactUrl(url));
}

const MISSING_TABLE = new Set(['42P01', 'ER_NO_SUCH_TABLE']);
const BAD_CREDENTIALS = new Set(['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR']);
const NO_SUCH_DATABASE = new Set(['3D000', 'ER_BAD_DB_ERROR']);

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A database error as a message that says what to do; other errors are returned unchanged. */
export function explainDatabaseError(error: unknown, url: string): unknown {
  if (error instanceof UsageError || error instanceof MissingDependencyError) return error;
  if (error instanceof ValidationError) {
    return error.field === 'database' ? new UsageError(`--database: ${error.message}`) : error;
  }
  if (!(error instanceof Error)) return error;
  const where = hidePassword(url);
  const code = codeOf(error);
  const detail = error.message || code || String(error);
  if ((code && MISSING_TABLE.has(code)) || /no such table/i.test(error.message)) return missingSchema(url, error);
  if (code && BAD_CREDENTIALS.has(code))
    return new Error(`the database at ${where} refused the credentials (${detail}): check the user and password`, {
      cause: error,
    });
  if (code && NO_SUCH_DATABASE.has(code))
    return new Error(`the database in ${where} does not exist (${detail}): create it, or fix --database`, {
      cause: error,
    });
  if (isConnectionError(error))
    return new Error(
      `cannot reach the database at ${where} (${detail}): is it running and reachable from here? Start it, or fix --database (or DATABASE_URL)`,
      { cause: error },
    );
  if (/unable to open database file|directory does not exist/i.test(detail))
    return new Error(
      `cannot open the SQLite file of ${where} (${detail}): does its directory exist and is it writable?`,
      {
        cause: error,
      },
    );
  return error;
}

function missingSchema(url: string, cause: Error): Error {
  const where = hidePassword(url);
  // A URL with a password is not repeated in full (it would land in terminal scroll-back and logs).
  const argument = where === url ? url : '<URL>';
  return new Error(
    `the database at ${where} has no agentcore-task tables: run "agentcore-task migrate --database ${argument}" first (or start an application that uses the library)`,
    { cause },
  );
}
