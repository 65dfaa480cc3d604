/** Human-readable output of the CLI: tables, durations, JSON, and a progress display for long operations. */
import { ValidationError } from '../errors.js';
import { type CliIo, UsageError } from './command.js';

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

/** Progress on stderr (stdout stays clean for --json); a bar only when stderr is a terminal. */
export function progressSink(io: Pick<CliIo, 'stderr'>): ProgressSink {
  return { write: (text) => io.stderr(text), isTTY: process.stderr.isTTY === true };
}

/**
 * `fn` given an `onProgress(done, total)` that shows a progress bar on stderr from its first call (nothing for work
 * that reports none); the bar is finished when `fn` settles.
 */
export async function withProgress<T>(
  io: Pick<CliIo, 'stderr'>,
  label: string,
  fn: (onProgress: (done: number, total: number) => void) => Promise<T>,
): Promise<T> {
  let progress: Progress | undefined;
  try {
    return await fn((done, total) => {
      progress ??= new Progress(progressSink(io), label, total);
      progress.update(done);
    });
  } finally {
    progress?.done();
  }
}

/** Where progress goes: a redrawn bar on a terminal, otherwise a line now and then (logs, CI, pipes). */
export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
  /**
   * Colour the bar. Defaults to `useColor(process.env, isTTY)`: only on a terminal, and never with `NO_COLOR` set.
   */
  color?: boolean;
}

/**
 * Whether output to a stream may carry ANSI colours: only on a terminal that is not `TERM=dumb`, and never when
 * `NO_COLOR` is set to anything but the empty string (https://no-color.org). `FORCE_COLOR` (non-empty, not `0`)
 * turns colour on even off a terminal, as in Node and most CLIs.
 */
export function useColor(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return isTTY && env.TERM !== 'dumb';
}

/** Seconds left as `8s`, `4m 05s` or `2h 03m` (rounded up: an estimate that says 0s while work remains misleads). */
export function formatEta(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 60 ? `${s}s` : formatDuration(s);
}

/** Minimum time between two progress lines when the output is not a terminal. */
const LINE_INTERVAL_MS = 1_000;
const BAR_WIDTH = 30;
/** No estimate before this much time has passed: the first batch alone says little about the rate. */
const ETA_AFTER_MS = 500;
const GREEN = '\x1b[32m';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/**
 * A progress display of `done` out of an estimated `total` (`total` may be exceeded: rows created meanwhile). On a
 * terminal it redraws one line; elsewhere it prints the first update, then at most one line per second. Both show the
 * time left, estimated from the average rate since the display was created.
 */
export class Progress {
  private lastLine = 0;
  private drawn = false;
  private drawnWidth = 0;
  private readonly started: number;
  private readonly color: boolean;
  private readonly now: () => number;

  /** `options.now` replaces the clock (tests). */
  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly total: number,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.color = sink.color ?? useColor(process.env, sink.isTTY);
  }

  update(done: number): void {
    const now = this.now();
    const total = Math.max(this.total, done);
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const eta = this.eta(done, total, now);
    if (this.sink.isTTY) {
      const filled = Math.round((pct / 100) * BAR_WIDTH);
      const bar = this.color
        ? `${GREEN}${'#'.repeat(filled)}${RESET}${DIM}${'-'.repeat(BAR_WIDTH - filled)}${RESET}`
        : `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      const tail = `${pct}% ${done}/${total}${eta === null ? '' : ` ETA ${eta}`}`;
      // Spaces over what a longer previous line left behind (the ETA shrinks), instead of a terminal erase code.
      const width = this.label.length + BAR_WIDTH + tail.length + 4;
      this.sink.write(`\r${this.label} [${bar}] ${tail}${' '.repeat(Math.max(0, this.drawnWidth - width))}`);
      this.drawnWidth = width;
      this.drawn = true;
      return;
    }
    if (this.lastLine !== 0 && now - this.lastLine < LINE_INTERVAL_MS) return;
    this.lastLine = now;
    this.sink.write(`${this.label}: ${done} of ~${total} (${pct}%)${eta === null ? '' : `, about ${eta} left`}\n`);
  }

  /** Ends the redrawn line (terminal only). */
  done(): void {
    if (this.drawn) this.sink.write('\n');
  }

  /** Time left at the average rate so far; `null` when nothing is done yet, all is done, or it is too early to tell. */
  private eta(done: number, total: number, now: number): string | null {
    const elapsed = now - this.started;
    if (done <= 0 || done >= total || elapsed < ETA_AFTER_MS) return null;
    return formatEta(((total - done) * elapsed) / done / 1000);
  }
}
