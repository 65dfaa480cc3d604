import { createHash } from 'node:crypto';
import { hasUnstorableText, toJsonSafe, toText } from '../json-safe.js';

/** Options of `preventDuplicateTask`. */
export interface PreventDuplicateOptions {
  /** Lock name, e.g. the task name. */
  lockName: string;
  /** Lock TTL in seconds; should exceed the usual run time (or use `renew`). @defaultValue `3600` */
  timeout?: number;
  /**
   * Scope the lock by this field of the first argument (a plain object, or a BullMQ `Job` whose `data` holds it):
   * the lock becomes `${lockName}_${value}`, e.g. one lock per user. A call without the field uses `lockName` alone.
   */
  lockParam?: string;
  /** Extend the TTL at half its length while the function runs, and stop when it ends. @defaultValue `false` */
  renew?: boolean;
}

/** Why `preventDuplicateTask` did not run the function. */
export type SkipReason = 'task_already_running' | 'lock_acquisition_failed';

/** What a function wrapped by `preventDuplicateTask` returns instead of running (the seed's dict, as JSON). */
export interface SkippedTaskResult {
  success: false;
  status: 'skipped';
  reason: SkipReason;
  error: string;
}

/** Lock parameter values longer than this become a hash, so keys stay short. */
export const MAX_LOCK_PARAM_LENGTH = 200;

/** Builds the skip payload: what a call skipped because its lock is held returns instead of running. */
export function skippedResult(reason: SkipReason, lockName: string): SkippedTaskResult {
  const error =
    reason === 'task_already_running'
      ? `Task ${lockName} is already running`
      : `Failed to acquire lock for ${lockName}`;
  return { success: false, status: 'skipped', reason, error };
}

/**
 * The value of `lockParam` in the first argument of a task: read directly from a plain object, or from `data` of a
 * BullMQ `Job` (or of a plain `{ data }` that lacks the field itself). `undefined` when absent.
 */
export function readLockParam(firstArg: unknown, lockParam: string): unknown {
  if (firstArg === null || typeof firstArg !== 'object') return undefined;
  const record = firstArg as Record<string, unknown>;
  const proto = Object.getPrototypeOf(firstArg);
  const plain = proto === Object.prototype || proto === null;
  // A Job has fields of its own (`name`, `id`, …) that must not shadow the job's data.
  if (plain && lockParam in record) return record[lockParam];
  const data = record.data;
  if (data !== null && typeof data === 'object') return (data as Record<string, unknown>)[lockParam];
  return plain ? undefined : record[lockParam];
}

/**
 * The lock name of one call: `lockName`, or `${lockName}_${value}` where a value longer than 200 characters becomes
 * the first 16 hex characters of its MD5 (so does a value holding NUL or a lone surrogate). Returns `lockName` alone when the value is missing (`undefined`, `null`,
 * or an empty string).
 */
export function taskLockName(lockName: string, value: unknown): string {
  if (value === undefined || value === null || value === '') return lockName;
  const text =
    typeof value === 'string'
      ? value
      : value instanceof Date
        ? value.toISOString()
        : typeof value === 'object'
          ? JSON.stringify(toJsonSafe(value))
          : toText(value);
  // A value that no database could store as given (NUL, a lone surrogate) is hashed too, so it still names one lock.
  if (text.length <= MAX_LOCK_PARAM_LENGTH && !hasUnstorableText(text)) return `${lockName}_${text}`;
  return `${lockName}_${createHash('md5').update(text, 'utf8').digest('hex').slice(0, 16)}`;
}
