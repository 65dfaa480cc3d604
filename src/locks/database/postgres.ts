import { sql } from 'kysely';
import { type LockDialect, onConflictAcquireQuery } from './lock-dialect.js';

/** PostgreSQL: `timestamptz` arithmetic on `now()`; upsert with `ON CONFLICT … WHERE … RETURNING`. */
export const postgresLockDialect: LockDialect = {
  now: sql<string>`now()`,
  after: (ms) => sql<string>`now() + cast(${ms} as double precision) * interval '1 millisecond'`,
  acquireQuery(db, key, owner, ttlMs) {
    return onConflictAcquireQuery(this, db, key, owner, ttlMs);
  },
  async acquire(db, key, owner, ttlMs) {
    return (await onConflictAcquireQuery(this, db, key, owner, ttlMs).execute()).length === 1;
  },
};
