/**
 * Every run matching a list's filters, in the list's order, read in keyset batches (the `cursor` paging of `list`
 * without its count): each batch is one indexed range read whatever its depth, and no connection is held between
 * batches, so a slow reader (an export download) never pins one.
 */
import { sql } from 'kysely';
import type { ExecutionFilters, OrderingField, TaskExecution } from '../types.js';
import type { ExecutionStore } from './execution-store.js';
import { normalizePage } from './execution-store.js';
import { applyFilters, keysetAfter } from './filters.js';
import { type ExecutionRow, rowToExecution } from './row.js';

/** Rows per batch of a scan. */
export const SCAN_BATCH_SIZE = 1000;

const DATE_FIELDS: ReadonlySet<OrderingField> = new Set(['created_at', 'started_at', 'finished_at']);
const NULLABLE_FIELDS: ReadonlySet<OrderingField> = new Set(['started_at', 'finished_at']);

/** Options of {@link scanExecutions}. */
export interface ScanOptions {
  /** As the list's `ordering`. @defaultValue `'-created_at'` */
  ordering?: string;
  /** Rows per batch. @defaultValue {@link SCAN_BATCH_SIZE} */
  batchSize?: number;
}

/**
 * Batches of the runs matching `filters`, in `ordering` (ties by id, as the list). Stop iterating to stop reading.
 * Throws a `ValidationError` for a bad filter or ordering before any SQL runs.
 *
 * @example
 * for await (const batch of scanExecutions(tasks.tracker.store, { status: 'FAILURE' })) write(batch);
 */
export async function* scanExecutions(
  store: ExecutionStore,
  filters: ExecutionFilters,
  options: ScanOptions = {},
): AsyncGenerator<TaskExecution[]> {
  const { db, dialect } = store;
  const { field, direction } = normalizePage({ ordering: options.ordering }).ordering;
  const batchSize = Math.max(1, options.batchSize ?? SCAN_BATCH_SIZE);
  // PostgreSQL keeps microseconds, which a JS Date would drop: the position is the stored value as text (as `list`).
  const exactKey = dialect.name === 'postgres' && DATE_FIELDS.has(field);
  const base = applyFilters(db.selectFrom('agentcore_task_execution'), filters, dialect);
  let after: { value: unknown; id: number } | null = null;
  for (;;) {
    let query = base.selectAll();
    if (exactKey)
      query = query.select(
        sql<string>`to_char(${sql.ref(field)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('scan_key'),
      ) as never;
    if (after)
      query = query.where(
        keysetAfter(field, direction, after.value, after.id, {
          nullsHigh: dialect.name === 'postgres',
          nullable: NULLABLE_FIELDS.has(field),
          cast: exactKey && after.value !== null ? 'timestamptz' : undefined,
        }),
      );
    const rows = (await query.orderBy(field, direction).orderBy('id', direction).limit(batchSize).execute()) as Array<
      ExecutionRow & { scan_key?: string | null }
    >;
    if (rows.length === 0) return;
    yield rows.map((row) => rowToExecution(row, dialect));
    if (rows.length < batchSize) return;
    const last = rows[rows.length - 1];
    // Other databases take back the value as their driver returned it (a Date on MySQL, the stored text on SQLite).
    after = { value: exactKey ? (last.scan_key ?? null) : (last[field] ?? null), id: Number(last.id) };
  }
}
