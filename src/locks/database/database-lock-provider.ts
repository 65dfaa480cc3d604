import type { Kysely } from 'kysely';
import { ValidationError } from '../../errors.js';
import type { DialectName } from '../../store/dialect.js';
import { type Database, LOCK_TABLE } from '../../store/schema.js';
import type { LockEntry, LockProvider } from '../provider.js';
import type { LockDialect } from './lock-dialect.js';
import { mysqlLockDialect } from './mysql.js';
import { postgresLockDialect } from './postgres.js';
import { sqliteLockDialect } from './sqlite.js';

/** The SQL of the database lock for each dialect. */
export const LOCK_DIALECTS: Record<DialectName, LockDialect> = {
  postgres: postgresLockDialect,
  mysql: mysqlLockDialect,
  sqlite: sqliteLockDialect,
};

/** Length of the `name` column of `agentcore_task_lock`. */
export const MAX_LOCK_KEY_LENGTH = 255;

/**
 * Locks in the table `agentcore_task_lock` (one row per held lock, with its owner token and expiry). Acquisition is
 * one atomic statement per dialect that also takes over an expired row; release and extend compare the owner in
 * their `WHERE`. Expired rows are not deleted by a timer: they are simply taken over, or ignored when reading.
 */
export class DatabaseLockProvider implements LockProvider {
  private readonly sql: LockDialect;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: DialectName,
  ) {
    this.sql = LOCK_DIALECTS[dialect];
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    // SQLite would accept a longer key where the other databases reject it: the same limit everywhere.
    if (key.length > MAX_LOCK_KEY_LENGTH)
      throw new ValidationError(
        `lock key longer than ${MAX_LOCK_KEY_LENGTH} characters: ${key.slice(0, 60)}…`,
        'lockName',
      );
    return this.sql.acquire(this.db, key, owner, ttlMs);
  }

  async release(key: string, owner: string | null): Promise<boolean> {
    let query = this.db.deleteFrom(LOCK_TABLE).where('name', '=', key);
    if (owner !== null) query = query.where('owner', '=', owner);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable(LOCK_TABLE)
      .set({ expires_at: this.sql.after(ttlMs) })
      .where('name', '=', key)
      .where('owner', '=', owner)
      .where('expires_at', '>', this.sql.now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async isLocked(key: string): Promise<boolean> {
    const row = await this.db
      .selectFrom(LOCK_TABLE)
      .select('name')
      .where('name', '=', key)
      .where('expires_at', '>', this.sql.now)
      .executeTakeFirst();
    return row !== undefined;
  }

  async list(): Promise<LockEntry[]> {
    const rows = await this.db
      .selectFrom(LOCK_TABLE)
      .select(['name', 'owner', 'expires_at'])
      .where('expires_at', '>', this.sql.now)
      .orderBy('name')
      .execute();
    return rows.map((row) => ({ name: row.name, owner: row.owner, expiresAt: new Date(row.expires_at) }));
  }
}
