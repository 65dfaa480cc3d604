/**
 * The newest cutoff any cleanup has deleted runs before, kept in `agentcore_task_config` (`cleanup:cutoff`, an ISO
 * time). Whatever wants to store runs of old jobs again (the recovery of finished BullMQ jobs that have no run) must
 * not bring back what a cleanup deleted on purpose, also one run with a shorter retention than the setting
 * (`agentcore-task cleanup --retention-days 7`).
 */
import type { Kysely } from 'kysely';
import type { SqlDialect } from './dialect.js';
import { CONFIG_TABLE, type Database } from './schema.js';

export const CLEANUP_CUTOFF_KEY = 'cleanup:cutoff';

/** The stored cutoff, or `null` when no cleanup has run (or the value is unreadable). */
export async function readCleanupCutoff(db: Kysely<Database>): Promise<Date | null> {
  const row = await db
    .selectFrom(CONFIG_TABLE)
    .select('value')
    .where('key', '=', CLEANUP_CUTOFF_KEY)
    .executeTakeFirst();
  if (!row) return null;
  const at = new Date(String(row.value));
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * Raises the stored cutoff to `cutoff` (never lowers it), before a cleanup deletes anything. Two cleanups at once may
 * each store theirs; either is a cutoff that was deleted before.
 */
export async function raiseCleanupCutoff(db: Kysely<Database>, dialect: SqlDialect, cutoff: Date): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await readCleanupCutoff(db);
    if (current && current >= cutoff) return;
    try {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom(CONFIG_TABLE).where('key', '=', CLEANUP_CUTOFF_KEY).execute();
        await trx
          .insertInto(CONFIG_TABLE)
          .values({ key: CLEANUP_CUTOFF_KEY, value: cutoff.toISOString(), updated_at: dialect.toDbDate(new Date()) })
          .execute();
      });
      return;
    } catch (error) {
      // Another cleanup stored its cutoff between our delete and insert (a duplicate key): look again.
      if (attempt >= 3) throw error;
    }
  }
}
