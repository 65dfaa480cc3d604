import { toJsonSafe } from '../json-safe.js';
import type { TaskExecution } from '../types.js';

/**
 * The level names the collector stores: Python's `logging` names, as the Django module stores them, so front ends
 * written for it read our rows unchanged.
 */
export const TASK_LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
/** One of {@link TASK_LOG_LEVELS}. */
export type TaskLogLevel = (typeof TASK_LOG_LEVELS)[number];

/** Levels `getWarningsAndErrors()` keeps (the Django module's `('WARNING', 'ERROR', 'CRITICAL')`). */
const WARNING_OR_WORSE: ReadonlySet<string> = new Set<TaskLogLevel>(['WARNING', 'ERROR', 'CRITICAL']);

/** Python's aliases (`logging.WARN`, `logging.FATAL`) read as the names they stand for. */
const ALIASES: Readonly<Record<string, TaskLogLevel>> = { WARN: 'WARNING', FATAL: 'CRITICAL' };

/** One collected log entry. */
export interface TaskLogEntry {
  /**
   * Upper case, as Python's `logging` names them. Rows written by earlier releases hold lower-case names (`info`,
   * `error`); read stored entries through {@link TaskLogCollector.normalizeLevel} or {@link TaskLogCollector.summarize}.
   */
  level: TaskLogLevel;
  message: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  exception?: { name: string; message: string; stack: string | null };
}

/**
 * Summary written to `metadata.log_summary`, the Django module's shape: `by_level` counts per level name and holds
 * only the levels that occur, e.g. `{ total: 2, by_level: { INFO: 1, ERROR: 1 } }`.
 */
export interface TaskLogSummary {
  total: number;
  /** Entries per upper-case level name; a level with no entry is absent (read it as `by_level.ERROR ?? 0`). */
  by_level: Partial<Record<TaskLogLevel, number>> & Record<string, number>;
}

/**
 * Collects log lines during a run, keeping the newest `maxRecords` (default 1000), and writes them into the run's
 * metadata (`metadata.logs`, `metadata.log_summary`). Levels are stored as Python names (`DEBUG`, `INFO`, `WARNING`,
 * `ERROR`, `CRITICAL`), the summary keyed by them, as the Django module does.
 *
 * @example
 * const logs = new TaskLogCollector();
 * logs.info('parsing');
 * logs.error('row 3 is invalid', err);
 * await logs.flushTo(tasks.tracker, taskId);
 */
export class TaskLogCollector {
  readonly maxRecords: number;
  private entries: TaskLogEntry[] = [];

  constructor(options: { maxRecords?: number } = {}) {
    this.maxRecords = Math.max(1, options.maxRecords ?? 1000);
  }

  /**
   * A stored level as an upper-case Python name: `info` (written by earlier releases) → `INFO`, `warn` → `WARNING`,
   * `fatal` → `CRITICAL`. A level no logger names is upper-cased and kept; a missing one is `'UNKNOWN'`.
   *
   * @example
   * for (const entry of run.metadata.logs) show(TaskLogCollector.normalizeLevel(entry.level), entry.message);
   */
  static normalizeLevel(level: unknown): string {
    if (typeof level !== 'string' || level.trim() === '') return 'UNKNOWN';
    const upper = level.trim().toUpperCase();
    return ALIASES[upper] ?? upper;
  }

  /**
   * The summary of stored entries (e.g. `metadata.logs` of any row, old or new): counts keyed by
   * {@link TaskLogCollector.normalizeLevel}, so lower-case rows of earlier releases count with the new ones.
   */
  static summarize(entries: ReadonlyArray<{ level?: unknown }>): TaskLogSummary {
    const by_level: Record<string, number> = {};
    for (const entry of entries) {
      const level = TaskLogCollector.normalizeLevel(entry?.level);
      by_level[level] = (by_level[level] ?? 0) + 1;
    }
    return { total: entries.length, by_level };
  }

  /** Adds a `DEBUG` entry. */
  debug(message: string): void {
    this.add('DEBUG', message);
  }
  /** Adds an `INFO` entry. */
  info(message: string): void {
    this.add('INFO', message);
  }
  /** Adds a `WARNING` entry. */
  warning(message: string): void {
    this.add('WARNING', message);
  }
  /** Adds an `ERROR` entry; `exception` (an `Error` or any value) is kept as `{ name, message, stack }`. */
  error(message: string, exception?: unknown): void {
    this.add('ERROR', message, exception);
  }
  /** Adds a `CRITICAL` entry (Python's level above `ERROR`); `exception` as for `error`. */
  critical(message: string, exception?: unknown): void {
    this.add('CRITICAL', message, exception);
  }

  /** A copy of every kept entry, oldest first. */
  getLogs(): TaskLogEntry[] {
    return [...this.entries];
  }

  /** The kept `WARNING`, `ERROR` and `CRITICAL` entries, oldest first. */
  getWarningsAndErrors(): TaskLogEntry[] {
    return this.entries.filter((e) => WARNING_OR_WORSE.has(e.level));
  }

  /** `{ total, by_level }` of the kept entries, e.g. `{ total: 2, by_level: { INFO: 1, ERROR: 1 } }`. */
  getSummary(): TaskLogSummary {
    return TaskLogCollector.summarize(this.entries);
  }

  /** Drops every kept entry. */
  clear(): void {
    this.entries = [];
  }

  /** Merges the logs into the run's metadata (`logs`, `log_summary`) without changing its status. */
  async flushTo(
    tracker: { reportProgress(taskId: string, progress: Record<string, unknown>): Promise<TaskExecution | null> },
    taskId: string,
  ): Promise<TaskExecution | null> {
    return tracker.reportProgress(taskId, { logs: this.getLogs(), log_summary: this.getSummary() });
  }

  private add(level: TaskLogLevel, message: string, exception?: unknown) {
    const entry: TaskLogEntry = { level, message: String(message), timestamp: new Date().toISOString() };
    if (exception !== undefined) {
      const e = exception instanceof Error ? exception : new Error(String(toJsonSafe(exception)));
      entry.exception = { name: e.name, message: e.message, stack: e.stack ?? null };
    }
    this.entries.push(entry);
    if (this.entries.length > this.maxRecords) this.entries.splice(0, this.entries.length - this.maxRecords);
  }
}
