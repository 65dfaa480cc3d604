import { toJsonSafe } from '../json-safe.js';
import type { TaskExecution } from '../types.js';

/** One collected log entry. */
export interface TaskLogEntry {
  level: 'debug' | 'info' | 'warning' | 'error';
  message: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  exception?: { name: string; message: string; stack: string | null };
}

/** Summary written to `metadata.log_summary`. */
export interface TaskLogSummary {
  total: number;
  by_level: Record<TaskLogEntry['level'], number>;
}

/**
 * Collects log lines during a run, keeping the newest `maxRecords` (default 1000), and writes them into the run's
 * metadata (`metadata.logs`, `metadata.log_summary`).
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

  debug(message: string): void {
    this.add('debug', message);
  }
  info(message: string): void {
    this.add('info', message);
  }
  warning(message: string): void {
    this.add('warning', message);
  }
  error(message: string, exception?: unknown): void {
    this.add('error', message, exception);
  }

  /** A copy of every kept entry, oldest first. */
  getLogs(): TaskLogEntry[] {
    return [...this.entries];
  }

  getWarningsAndErrors(): TaskLogEntry[] {
    return this.entries.filter((e) => e.level === 'warning' || e.level === 'error');
  }

  getSummary(): TaskLogSummary {
    const by_level = { debug: 0, info: 0, warning: 0, error: 0 };
    for (const e of this.entries) by_level[e.level]++;
    return { total: this.entries.length, by_level };
  }

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

  private add(level: TaskLogEntry['level'], message: string, exception?: unknown) {
    const entry: TaskLogEntry = { level, message: String(message), timestamp: new Date().toISOString() };
    if (exception !== undefined) {
      const e = exception instanceof Error ? exception : new Error(String(toJsonSafe(exception)));
      entry.exception = { name: e.name, message: e.message, stack: e.stack ?? null };
    }
    this.entries.push(entry);
    if (this.entries.length > this.maxRecords) this.entries.splice(0, this.entries.length - this.maxRecords);
  }
}
