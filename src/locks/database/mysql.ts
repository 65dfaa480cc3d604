import { type Kysely, sql } from 'kysely';
import { type Database, LOCK_TABLE } from '../../store/schema.js';
import type { LockDialect } from './lock-dialect.js';

/** InnoDB may pick one of several concurrent upserts of a new key as a deadlock victim; that one simply retries. */
const DEADLOCK_ATTEMPTS = 3;
const RETRYABLE_ERRNO = new Set([1213 /* ER_LOCK_DEADLOCK */, 1205 /* ER_LOCK_WAIT_TIMEOUT */]);

const now = sql<string>`UTC_TIMESTAMP(3)`;
const after = (ms: number) => sql<string>`DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ${Math.round(ms * 1000)} MICROSECOND)`;
const takeOver = (column: string) =>
  sql<string>`IF(${sql.ref('expires_at')} <= ${now}, VALUES(${sql.ref(column)}), ${sql.ref(column)})`;

/**
 * `INSERT … ON DUPLICATE KEY UPDATE col = IF(expires_at <= now, VALUES(col), col)`. MySQL assigns left to right and
 * later expressions see earlier assignments, so `expires_at` is assigned last: the conditions of `owner` and
 * `created_at` must read the old expiry. `UTC_TIMESTAMP(3)` is fixed for the whole statement. (`VALUES()` rather
 * than MySQL 8's row alias, which MariaDB lacks.)
 */
function acquireQuery(db: Kysely<Database>, key: string, owner: string, ttlMs: number) {
  return db
    .insertInto(LOCK_TABLE)
    .values({ name: key, owner, expires_at: after(ttlMs), created_at: now })
    .onDuplicateKeyUpdate({
      owner: takeOver('owner'),
      created_at: takeOver('created_at'),
      expires_at: takeOver('expires_at'),
    });
}

/** MySQL / MariaDB: `DATETIME(3)` holding UTC, compared with `UTC_TIMESTAMP(3)`. */
export const mysqlLockDialect: LockDialect = {
  now,
  after,
  acquireQuery,
  async acquire(db, key, owner, ttlMs) {
    for (let attempt = 1; ; attempt++) {
      try {
        await acquireQuery(db, key, owner, ttlMs).execute();
        break;
      } catch (error) {
        if (attempt >= DEADLOCK_ATTEMPTS || !RETRYABLE_ERRNO.has((error as { errno?: number }).errno ?? 0)) throw error;
      }
    }
    // No RETURNING, and affectedRows depends on the client's FOUND_ROWS flag: ask who holds it. Tokens are unique, so
    // reading our own token back means our statement wrote it.
    const row = await db.selectFrom(LOCK_TABLE).select('owner').where('name', '=', key).executeTakeFirst();
    return row?.owner === owner;
  },
};
