import { isCompletedStatus, isRunningStatus, type TaskStatusValue } from '../status.js';
import type { TaskExecution } from '../types.js';
import type { SqlDialect } from './dialect.js';

/** A row of `agentcore_task_execution` as a driver returns it. */
export type ExecutionRow = Record<string, unknown>;

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(String(value));
}

/**
 * Creator ids are stored as text. An id that reads as a safe integer comes back as a number, so integer ids given
 * by the host stay integers (documented choice: the column cannot tell `42` from `"42"`).
 */
export function decodeCreatedById(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  if (/^(0|-?[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  return text;
}

/** Seconds between start and finish (or now, while running); null before start. */
export function computeDuration(startedAt: Date | null, finishedAt: Date | null, status: string, now = Date.now()) {
  if (!startedAt) return null;
  if (finishedAt) return (finishedAt.getTime() - startedAt.getTime()) / 1000;
  if (isRunningStatus(status)) return (now - startedAt.getTime()) / 1000;
  return null;
}

/** Turns a database row into a `TaskExecution`, with the derived fields computed. */
export function rowToExecution(row: ExecutionRow, dialect: SqlDialect): TaskExecution {
  const status = String(row.status) as TaskStatusValue;
  const startedAt = toDate(row.started_at);
  const finishedAt = toDate(row.finished_at);
  const metadata = parseJsonColumn(dialect, row.metadata);
  const args = parseJsonColumn(dialect, row.task_args);
  const kwargs = parseJsonColumn(dialect, row.task_kwargs);
  return {
    id: Number(row.id),
    taskId: String(row.task_id),
    taskName: String(row.task_name ?? ''),
    module: String(row.module ?? ''),
    status,
    createdAt: toDate(row.created_at) as Date,
    startedAt,
    finishedAt,
    updatedAt: toDate(row.updated_at) as Date,
    taskArgs: Array.isArray(args) ? args : [],
    taskKwargs:
      kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs) ? (kwargs as Record<string, unknown>) : {},
    result: row.result === undefined ? null : parseJsonColumn(dialect, row.result),
    error: (row.error as string | null) ?? null,
    traceback: (row.traceback as string | null) ?? null,
    createdById: decodeCreatedById(row.created_by_id),
    createdByUsername: (row.created_by_username as string | null) ?? null,
    queueName: (row.queue_name as string | null) ?? null,
    metadata:
      metadata && typeof metadata === 'object' && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : {},
    duration: computeDuration(startedAt, finishedAt, status),
    isCompleted: isCompletedStatus(status),
    isRunning: isRunningStatus(status),
  };
}

function parseJsonColumn(dialect: SqlDialect, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  try {
    return dialect.parseJson(value);
  } catch {
    return value; // never let one bad cell break a read
  }
}
