/**
 * Named (protocol-level) prepared statements for the hot PostgreSQL writes. Kysely sends every statement unnamed, so
 * PostgreSQL parses, analyzes and plans each one anew. The store marks the texts of its hot statements with
 * `prepared(text)`: the single-run register, the single-run update templates (one per shape) and the batch register.
 * The `pg.Pool` that `connect.ts` hands to Kysely is wrapped (`withPreparedStatements`) so that a marked text goes out
 * as `{ name, text, values }`, which `pg` parses once per connection and then only binds and executes. Nothing else is
 * named: list and stats queries vary, and naming them would fill the server's memory.
 *
 * Only statements whose plan cannot go wrong are marked. After five runs PostgreSQL may keep one generic plan for a
 * named statement, made from the table's size at that moment: the marked ones insert (no scan) or find one row by the
 * unique `task_id` (an index scan, except on a table of a few pages: such a plan is replaced at the next ANALYZE,
 * which autovacuum runs soon after a small table grows). The batch update is not marked (see `UPDATE_BATCH_SQL`).
 *
 * A name is a hash of its text, so one name always means one text on every connection of every process (`pg` refuses
 * a name reused for another text; a pooler that moves statements between server connections finds the same text).
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/**
 * Most distinct statement texts named in one process; texts marked after that run unnamed. The library's hot
 * statements are a few dozen (each update shape is one), under PgBouncer's `max_prepared_statements` default of 200.
 */
export const MAX_PREPARED_STATEMENTS = 100;
/** Statement names start with this. */
export const PREPARED_NAME_PREFIX = 'agentcore_';
/** Environment variable that turns named statements off (`false`) when the option is not given. */
export const PREPARED_STATEMENTS_ENV = 'AGENTCORE_TASK_PREPARED_STATEMENTS';

const names = new Map<string, string>();

/**
 * Marks `text` as a hot statement, sent as a named prepared statement on pools wrapped by `withPreparedStatements`
 * (nothing changes elsewhere: MySQL, SQLite, a host's own Kysely instance). Returns `text`. Idempotent and cheap:
 * call it with the final SQL text of a statement that runs often with the same text.
 */
export function prepared(text: string): string {
  if (names.size < MAX_PREPARED_STATEMENTS && !names.has(text))
    names.set(text, `${PREPARED_NAME_PREFIX}${createHash('sha256').update(text).digest('hex').slice(0, 24)}`);
  return text;
}

/** The statement name of a marked text, or `undefined`. */
export function preparedName(text: string): string | undefined {
  return names.get(text);
}

/** `AGENTCORE_TASK_PREPARED_STATEMENTS` as a boolean, `undefined` when unset; a `ValidationError` when malformed. */
export function preparedStatementsFromEnv(env: NodeJS.ProcessEnv): boolean | undefined {
  const raw = env[PREPARED_STATEMENTS_ENV]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ValidationError(
    `${PREPARED_STATEMENTS_ENV} must be true or false, got ${JSON.stringify(env[PREPARED_STATEMENTS_ENV])}`,
    PREPARED_STATEMENTS_ENV,
  );
}

/** What we use of a `pg.PoolClient` (the same as Kysely's `PostgresPoolClient`). */
interface PgClient {
  query(...args: unknown[]): unknown;
  release(destroy?: boolean): void;
}
/** What we use of a `pg.Pool` (the same as Kysely's `PostgresPool`). */
export interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

/**
 * How many times a pool prepares its statements again under new names after the server lost them, before it sends
 * every statement unnamed. One loss is a schema change (`cached plan must not change result type`) or a stray
 * `DEALLOCATE ALL`; a second one is a pooler that does not keep prepared statements.
 */
const MAX_REPREPARES = 1;

/**
 * The server lost a statement `pg` believes it prepared on this connection (`DEALLOCATE ALL`/`DISCARD ALL`, or a pooler
 * that moved the client to another server connection), was asked to prepare a name it already holds (such a pooler
 * again), or cannot run it since the table changed under a `RETURNING *`. In all three, the statement did not run.
 */
function isLostStatement(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === '26000' || code === '42P05') return true;
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

/**
 * Wraps `pool` for Kysely's `PostgresDialect`: marked texts (see `prepared`) are sent as named statements, everything
 * else as before. When the server loses the statements, the query runs again (under new names the first time, unnamed
 * after that), so no write fails for it; each of the two is logged once.
 */
export function withPreparedStatements(pool: PgPool, logger: Logger): PgPool {
  let generation = 0;
  let named = true;
  const wrapped = new WeakMap<PgClient, PgClient>();

  const lost = (error: unknown, failedGeneration: number) => {
    if (!named || failedGeneration !== generation) return;
    const code = (error as { code?: string }).code;
    if (generation < MAX_REPREPARES) {
      generation++;
      logger.warn(
        { err: error, code },
        'agentcore-task: PostgreSQL lost a prepared statement (schema change, DEALLOCATE ALL or a pooler): preparing them again',
      );
    } else {
      named = false;
      logger.warn(
        { err: error, code },
        'agentcore-task: PostgreSQL keeps losing prepared statements (a pooler without max_prepared_statements?): ' +
          `sending statements unnamed on this pool from now on; set preparedStatements: false or ${PREPARED_STATEMENTS_ENV}=false to skip them`,
      );
    }
  };

  const run = async (client: PgClient, text: string, values: unknown, base: string): Promise<unknown> => {
    const current = generation;
    try {
      return await client.query({ name: current === 0 ? base : `${base}_${current}`, text, values });
    } catch (error) {
      if (!isLostStatement(error)) throw error;
      lost(error, current);
      return named ? run(client, text, values, base) : client.query(text, values);
    }
  };

  const wrap = (client: PgClient): PgClient => ({
    query(textOrCursor: unknown, values?: unknown) {
      const base = named && typeof textOrCursor === 'string' ? names.get(textOrCursor) : undefined;
      return base === undefined
        ? client.query(textOrCursor, values)
        : run(client, textOrCursor as string, values, base);
    },
    release: (destroy?: boolean) => client.release(destroy),
  });

  return {
    async connect() {
      const client = await pool.connect();
      let proxy = wrapped.get(client);
      if (!proxy) {
        proxy = wrap(client);
        wrapped.set(client, proxy);
      }
      return proxy;
    },
    end: () => pool.end(),
  };
}
