import type { Compilable, Kysely, RawBuilder } from 'kysely';
import { type Database, LOCK_TABLE } from '../../store/schema.js';

/**
 * The dialect-specific SQL of the database lock, one implementation per file (`postgres.ts`, `mysql.ts`,
 * `sqlite.ts`); each statement is asserted in `test/locks/lock-sql.test.ts`. Time always comes from the database
 * clock, so hosts whose clocks differ still agree on when a lock expires.
 */
export interface LockDialect {
  /** The database's current time, comparable with `expires_at`. */
  readonly now: RawBuilder<string>;
  /** The database's current time plus `ms` milliseconds. */
  after(ms: number): RawBuilder<string>;
  /** The one atomic statement that inserts the lock row, or takes the row over when it has expired. */
  acquireQuery(db: Kysely<Database>, key: string, owner: string, ttlMs: number): Compilable<unknown>;
  /** Runs the acquisition; `true` when `owner` now holds the lock. */
  acquire(db: Kysely<Database>, key: string, owner: string, ttlMs: number): Promise<boolean>;
}

/**
 * `INSERT … ON CONFLICT (name) DO UPDATE … WHERE expires_at <= now RETURNING owner` (PostgreSQL, SQLite): the
 * conflicting row is updated only when it has expired, and a row comes back only when the statement wrote ours.
 * Concurrent statements on one name serialize on the primary key, so exactly one of them wins.
 */
export function onConflictAcquireQuery(
  dialect: LockDialect,
  db: Kysely<Database>,
  key: string,
  owner: string,
  ttlMs: number,
) {
  return db
    .insertInto(LOCK_TABLE)
    .values({ name: key, owner, expires_at: dialect.after(ttlMs), created_at: dialect.now })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({
          owner: (eb) => eb.ref('excluded.owner'),
          expires_at: (eb) => eb.ref('excluded.expires_at'),
          created_at: (eb) => eb.ref('excluded.created_at'),
        })
        .where(`${LOCK_TABLE}.expires_at`, '<=', dialect.now),
    )
    .returning('owner');
}
