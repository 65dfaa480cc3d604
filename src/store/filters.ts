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
