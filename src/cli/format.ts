/** Human-readable output of the CLI: tables, durations, JSON, and a progress display for long operations. */
import { ValidationError } from '../errors.js';
import { UsageError } from './command.js';

/** A plain-text table with a header row, columns padded to their widest cell. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** `text` cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Seconds as `850ms`, `12.3s`, `4m 05s`, `2h 03m`; `-` for null. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A timestamp as `YYYY-MM-DD HH:MM:SS` (UTC); `-` for null. */
export function formatTime(date: Date | null): string {
  return date === null ? '-' : `${date.toISOString().slice(0, 19).replace('T', ' ')}`;
}

/** Pretty JSON with a final newline (the `--json` output). */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Runs `fn`, turning a `ValidationError` about a parameter into a `UsageError` that names the command-line flag
 * (`task_name` → `--task-name`), so a bad flag value exits 2 with the library's own message.
 */
export async function asUsage<T>(fn: () => T | Promise<T>, flags: Record<string, string> = {}): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ValidationError && error.field) {
      // `metadata.<key>` is the `--metadata` flag.
      const field = error.field.split('.')[0];
      const flag =
        flags[field] ??
        `--${field
          .replace(/_/g, '-')
          .replace(/([a-z])([A-Z])/g, '$1-$2')
          .toLowerCase()}`;
      throw new UsageError(`${flag}: ${error.message}`);
    }
    throw error;
  }
}

/** Where progress goes: a redrawn bar on a terminal, otherwise a line now and then (logs, CI, pipes). */
export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

/** Minimum time between two progress lines when the output is not a terminal. */
const LINE_INTERVAL_MS = 1_000;
const BAR_WIDTH = 30;

/**
 * A progress display of `done` out of an estimated `total` (`total` may be exceeded: rows created meanwhile). On a
 * terminal it redraws one line; elsewhere it prints the first update, then at most one line per second.
 */
export class Progress {
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const total = Math.max(this.total, done);
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (this.sink.isTTY) {
      const filled = Math.round((pct / 100) * BAR_WIDTH);
      this.sink.write(
        `\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${pct}% ${done}/${total}`,
      );
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (this.lastLine !== 0 && now - this.lastLine < LINE_INTERVAL_MS) return;
    this.lastLine = now;
    this.sink.write(`${this.label}: ${done} of ~${total} (${pct}%)\n`);
  }

  /** Ends the redrawn line (terminal only). */
  done(): void {
    if (this.drawn) this.sink.write('\n');
  }
}
