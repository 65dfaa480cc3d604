import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DialectName } from '../../store/dialect.js';
import { CONFIG_TABLE, type Database } from '../../store/schema.js';

/**
 * Where a queue's recorder got to: the id of the newest event of the queue's event stream whose writes (and those of
 * every event before it) have landed, and when that was (epoch ms, the recorder's clock). A restarted recorder
 * resumes the stream after `eventId`, and reconciles finished jobs back to `at` (less a margin).
 */
export interface RecorderPosition {
  eventId: string;
  at: number;
}

/** The config table's key column holds at most this many characters. */
const MAX_KEY_LENGTH = 100;

/**
 * The config-table key of a queue's position: `recorder:<queue>:last_event_id`, with the key prefix or PostgreSQL
 * schema in front when it is not BullMQ's default (`recorder:<namespace>/<queue>:last_event_id`). A key longer than
 * the column holds is shortened to a hash of it.
 */
export function positionKey(queueName: string, namespace?: string): string {
  const where = namespace ? `${namespace}/${queueName}` : queueName;
  const key = `recorder:${where}:last_event_id`;
  if (key.length <= MAX_KEY_LENGTH) return key;
  return `recorder:${createHash('sha256').update(where).digest('hex').slice(0, 48)}:last_event_id`;
}

/** The stored position, or `null` when none is stored (or it cannot be read as one). */
export async function loadPosition(db: Kysely<Database>, key: string): Promise<RecorderPosition | null> {
  const row = await db.selectFrom(CONFIG_TABLE).select('value').where('key', '=', key).executeTakeFirst();
  if (!row) return null;
  try {
    const value = JSON.parse(row.value) as Partial<RecorderPosition>;
    if (typeof value.eventId === 'string' && value.eventId !== '' && typeof value.at === 'number') {
      return { eventId: value.eventId, at: value.at };
    }
  } catch {
    // An unreadable position is no position: the recorder replays what the stream holds and reconciles in full.
  }
  return null;
}

/**
 * Stores a position in one statement (an upsert), so several recorders of one queue can save at once. The last
 * writer wins: an older position only makes a restarted recorder replay a little more, which writes nothing new.
 */
export async function savePosition(
  db: Kysely<Database>,
  dialect: { name: DialectName; toDbDate(date: Date): Date | string },
  key: string,
  position: RecorderPosition,
): Promise<void> {
  const value = JSON.stringify(position);
  const updated_at = dialect.toDbDate(new Date()) as never;
  const insert = db.insertInto(CONFIG_TABLE).values({ key, value, updated_at });
  if (dialect.name === 'mysql') await insert.onDuplicateKeyUpdate({ value, updated_at }).execute();
  else await insert.onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at })).execute();
}
