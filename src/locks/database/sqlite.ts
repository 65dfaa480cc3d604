import { sql } from 'kysely';
import { type LockDialect, onConflictAcquireQuery } from './lock-dialect.js';

// Timestamps are ISO-8601 text (`2026-11-25T10:00:00.000Z`, as `Date.toISOString()`), which compare as time does.
const ISO_FORMAT = '%Y-%m-%dT%H:%M:%fZ';

/** SQLite: `strftime` in ISO form; upsert with `ON CONFLICT … WHERE … RETURNING` (SQLite ≥ 3.35). */
export const sqliteLockDialect: LockDialect = {
  now: sql<string>`strftime(${sql.lit(ISO_FORMAT)}, 'now')`,
  after: (ms) => sql<string>`strftime(${sql.lit(ISO_FORMAT)}, 'now', ${`+${ms / 1000} seconds`})`,
  acquireQuery(db, key, owner, ttlMs) {
    return onConflictAcquireQuery(this, db, key, owner, ttlMs);
  },
  async acquire(db, key, owner, ttlMs) {
    return (await onConflictAcquireQuery(this, db, key, owner, ttlMs).execute()).length === 1;
  },
};
