import { type SelectQueryBuilder, sql } from 'kysely';
import { ValidationError } from '../errors.js';
import { isTaskStatus } from '../status.js';
import type { ExecutionFilters } from '../types.js';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
/** Metadata filter keys (`metadata.<key>=` query parameters): letters, digits and underscore. */
export const METADATA_KEY = /^[A-Za-z0-9_]+$/;

/**
 * Parses an ISO date or datetime filter. A datetime without offset is read as UTC. For `end`, a date-only value
 * means "through the end of that day" and is returned as the exclusive start of the next day.
 * Throws a `ValidationError` naming `field` for anything else: a bad date is an error, never silently ignored.
 */
export function parseDateBound(value: string | Date, field: string, end: boolean): { at: Date; exclusive: boolean } {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError(`${field} is not a valid date`, field);
    return { at: value, exclusive: false };
  }
  const text = String(value).trim();
  if (DATE_ONLY.test(text)) {
    const at = new Date(`${text}T00:00:00.000Z`);
    if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== text)
      throw new ValidationError(`${field} is not a valid date: ${JSON.stringify(text)}`, field);
    if (end) return { at: new Date(at.getTime() + 86_400_000), exclusive: true };
    return { at, exclusive: false };
  }
  const parts = DATE_TIME.exec(text);
  if (parts) {
    // Date would roll an impossible value over (2024-02-30 → 1 March, 24:30 → the next day): check each part first.
    const [, y, mo, d, h, mi, sec = '0', , zone] = parts;
    const offset = zone && !/^z$/i.test(zone) ? /^[+-](\d{2}):?(\d{2})$/.exec(zone) : null;
    if (
      !isCalendarDate(Number(y), Number(mo), Number(d)) ||
      Number(h) > 23 ||
      Number(mi) > 59 ||
      Number(sec) > 59 ||
      (offset && (Number(offset[1]) > 23 || Number(offset[2]) > 59))
    )
      throw new ValidationError(`${field} is not a valid date: ${JSON.stringify(text)}`, field);
    const at = new Date(zone ? text.replace(' ', 'T') : `${text.replace(' ', 'T')}Z`);
    if (!Number.isNaN(at.getTime())) return { at, exclusive: false };
  }
  throw new ValidationError(
    `${field} must be an ISO date (YYYY-MM-DD) or datetime, got ${JSON.stringify(text)}`,
    field,
  );
}

/** Whether year-month-day names a day of the proleptic Gregorian calendar (leap years included). */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

type ExecutionQuery<O> = SelectQueryBuilder<Database, 'agentcore_task_execution', O>;

/** Validates `filters` up front, so a bad filter fails before any SQL runs. */
export function validateFilters(filters: ExecutionFilters): void {
  if (filters.status !== undefined && !isTaskStatus(filters.status))
    throw new ValidationError(`status must be one of PENDING, STARTED, SUCCESS, FAILURE, RETRY, REVOKED`, 'status');
  if (filters.startDate !== undefined) parseDateBound(filters.startDate, 'start_date', false);
  if (filters.endDate !== undefined) parseDateBound(filters.endDate, 'end_date', true);
  for (const key of Object.keys(filters.metadata ?? {})) {
    if (!METADATA_KEY.test(key))
      throw new ValidationError(
        `metadata filter key must match [A-Za-z0-9_]+, got ${JSON.stringify(key)}`,
        `metadata.${key}`,
      );
  }
}

/** Adds the `WHERE` clauses of `filters` to a query on the execution table. */
export function applyFilters<O>(
  qb: ExecutionQuery<O>,
  filters: ExecutionFilters,
  dialect: SqlDialect,
): ExecutionQuery<O> {
  validateFilters(filters);
  let q = qb;
  if (filters.module !== undefined) q = q.where('module', '=', filters.module);
  if (filters.taskName !== undefined) q = q.where('task_name', '=', filters.taskName);
  if (filters.status !== undefined) q = q.where('status', '=', filters.status);
  if (filters.createdById !== undefined) {
    q =
      filters.createdById === null
        ? q.where('created_by_id', 'is', null)
        : q.where('created_by_id', '=', String(filters.createdById));
  }
  if (filters.startDate !== undefined) {
    const { at } = parseDateBound(filters.startDate, 'start_date', false);
    q = q.where('created_at', '>=', dialect.toDbDate(at));
  }
  if (filters.endDate !== undefined) {
    const { at, exclusive } = parseDateBound(filters.endDate, 'end_date', true);
    q = q.where('created_at', exclusive ? '<' : '<=', dialect.toDbDate(at));
  }
  if (filters.search !== undefined && filters.search !== '') {
    const pattern = `%${filters.search.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
    q = q.where(
      sql<boolean>`(lower(task_name) like ${pattern} escape '!' or lower(task_id) like ${pattern} escape '!')`,
    );
  }
  for (const [key, value] of Object.entries(filters.metadata ?? {})) {
    q = q.where(dialect.metadataEquals(key, String(value)));
  }
  return q;
}

// ── Keyset (cursor) paging ──────────────────────────────────────────────────────────────────────────────────────

/**
 * A position in a list: the ordering value and id of the row the page starts after (`before`: the row the page ends
 * before, for the previous page), under one `ordering` (`-created_at`, `status`, …). Sent as an opaque string.
 */
export interface Cursor {
  ordering: string;
  /** The ordering column's value as stored (timestamps as ISO text at the column's precision), or null. */
  value: string | null;
  id: number;
  before: boolean;
}

/** `cursor` as the opaque string a `next`/`previous` link carries: base64url of a small JSON array. */
export function encodeCursor(cursor: Cursor): string {
  const parts: unknown[] = [cursor.ordering, cursor.value, cursor.id];
  if (cursor.before) parts.push(1);
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by `encodeCursor` for a list under `ordering`. Throws a `ValidationError` naming `cursor` for
 * anything else, including a cursor of another ordering (the position would mean nothing there).
 */
export function decodeCursor(text: string, ordering: string): Cursor {
  const bad = () => new ValidationError('cursor is not valid: use the link of a previous page', 'cursor');
  if (typeof text !== 'string' || text.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parts) || parts.length < 3 || parts.length > 4) throw bad();
  const [o, value, id, before] = parts;
  if (typeof o !== 'string' || (value !== null && typeof value !== 'string') || !Number.isSafeInteger(id)) throw bad();
  if (before !== undefined && before !== 1) throw bad();
  if (o !== ordering)
    throw new ValidationError(`cursor belongs to ordering ${o}, not ${ordering}: start again from page 1`, 'cursor');
  return { ordering: o, value, id: id as number, before: before === 1 };
}

/**
 * The `WHERE` condition of the rows after `(value, id)` in the order `field direction, id direction`: the keyset
 * that makes a page cost the same at any depth. `nullsHigh` says where the database sorts NULL (PostgreSQL: above
 * every value, so first in a descending order; MySQL and SQLite: below). `value` is the bound parameter as the driver
 * wants it (null for a NULL ordering value); `nullable` is false for columns that never hold NULL, which keeps the
 * condition a plain index range (`field <= value and (…)`).
 */
export function keysetAfter(
  field: string,
  direction: 'asc' | 'desc',
  value: unknown,
  id: number,
  options: { nullsHigh: boolean; nullable: boolean; cast?: string },
) {
  const f = sql.ref(field);
  const cmp = sql.raw(direction === 'desc' ? '<' : '>');
  const cmpEq = sql.raw(direction === 'desc' ? '<=' : '>=');
  const v = options.cast ? sql`cast(${value} as ${sql.raw(options.cast)})` : sql`${value}`;
  const nullsFirst = (direction === 'desc') === options.nullsHigh;
  if (value === null) {
    // Past a NULL: the other NULLs further along by id, then (when NULLs come first) every non-NULL value.
    const sameNull = sql<boolean>`(${f} is null and id ${cmp} ${id})`;
    return nullsFirst ? sql<boolean>`(${sameNull} or ${f} is not null)` : sameNull;
  }
  const after = sql<boolean>`(${f} ${cmpEq} ${v} and (${f} ${cmp} ${v} or id ${cmp} ${id}))`;
  return options.nullable && !nullsFirst ? sql<boolean>`(${after} or ${f} is null)` : after;
}
