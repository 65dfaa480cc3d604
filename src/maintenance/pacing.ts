import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { STATS_ROWS_PER_RUN } from '../store/aggregates/index.js';
import type { DialectName } from '../store/dialect.js';
import { type Database, EXECUTION_TABLE } from '../store/schema.js';

/**
 * How cleanup sizes its statements and when it rests. Two modes:
 *
 * - **Full speed** while nothing else writes: statements double in size (up to the batch, and up to about
 *   `maxStatementMs` each) and follow one another with no pause. Few large statements are what makes one raw `DELETE`
 *   fast; cleanup gets close to it.
 * - **Gentle** while other sessions write: statements of `gentleRows` rows with a pause of `pauseRatio` times the
 *   statement's time after each. A concurrent writer's commit then waits behind at most one small flush of ours.
 *
 * "Other sessions write" is known from two signals, whichever says so first: the database's own counters of rows
 * inserted and updated (cleanup itself only deletes runs; the aggregate rows its deletes update are left out, see
 * `ActivityMonitor`; PostgreSQL and MySQL/MariaDB), and
 * the statement's own latency per row against the quietest one seen at that size (every dialect: a busy database makes
 * each statement slower). Until the counters have covered one full window, cleanup stays gentle: a writer that
 * started just before must not meet a burst of large statements.
 */
export class CleanupPacer {
  /** Rows of the next statement. */
  size: number;
  /** The quietest milliseconds per row seen, per power-of-two statement size. */
  private readonly best = new Map<number, number>();

  constructor(
    private readonly options: {
      gentleRows: number;
      maxRows: number;
      pauseRatio: number;
      maxStatementMs: number;
    },
  ) {
    this.size = options.gentleRows;
  }

  /**
   * Takes in one statement (`rows` asked for, `ms` it took) and what the counters say of the others; returns the pause
   * before the next statement, in milliseconds, and sets `size`.
   */
  observe(rows: number, ms: number, others: OthersWriting): number {
    const bucket = Math.floor(Math.log2(Math.max(1, rows)));
    const perRow = ms / Math.max(1, rows);
    const best = this.best.get(bucket);
    // Slower than twice the quietest statement of this size (and not just timer noise on a tiny one): the database
    // is busy with something else.
    const slow = best !== undefined && ms > SLOW_MIN_MS && perRow > SLOW_FACTOR * best;
    if (best === undefined || perRow < best) this.best.set(bucket, perRow);
    if (others !== 'quiet' && others !== 'unknown') {
      this.size = this.options.gentleRows;
      return ms * this.options.pauseRatio;
    }
    if (slow) {
      this.size = this.options.gentleRows;
      return ms * this.options.pauseRatio;
    }
    // Grow, but keep one statement short: a long one holds its locks and its flush, and a writer arriving meanwhile
    // waits for all of it.
    const fitting = perRow > 0 ? Math.floor(this.options.maxStatementMs / perRow) : Number.POSITIVE_INFINITY;
    this.size = Math.max(this.options.gentleRows, Math.min(this.options.maxRows, this.size * 2, fitting));
    return 0;
  }
}

/**
 * What the database's counters say of other writers: `pending` before one full window was seen, `busy` or `quiet`
 * after, `unknown` where there are no such counters (SQLite: a file, no server).
 */
export type OthersWriting = 'pending' | 'busy' | 'quiet' | 'unknown';

/** A statement at least this slow (ms), and this many times slower per row than the quietest, means "busy". */
const SLOW_MIN_MS = 4;
const SLOW_FACTOR = 2.5;

/**
 * The counters are read at most this often (ms). PostgreSQL publishes a session's counters at most once a second, so a
 * shorter window could see no change from a writer that is busy.
 */
export const ACTIVITY_WINDOW_MS = 1_250;

/** Rows written per second by others above which cleanup is gentle (a stray autoanalyze or lock row is not a writer). */
const BUSY_ROWS_PER_SECOND = 20;

/**
 * Watches the database's counters of rows inserted and updated: of the execution table on PostgreSQL (its writers are
 * the ones that wait; a busy neighbour still shows in the statements' own latency), of the server on MySQL/MariaDB (it
 * has no per-table counters without performance_schema). Cleanup's own deletes write aggregate rows through the
 * triggers (`STATS_ROWS_PER_RUN` per run on MySQL/MariaDB): those are not another writer. On PostgreSQL they are in
 * another table's counters; on MySQL/MariaDB cleanup reports its deletes (`deleted`) and they are subtracted. Counting
 * them made cleanup believe someone else was writing and stay gentle (small statements with pauses) all along.
 * `state` is refreshed by `poll()` once per window.
 */
export class ActivityMonitor {
  state: OthersWriting;
  private last: { at: number; rows: number } | null = null;
  /** Counter rows our own deletes caused since the last window. */
  private own = 0;

  private constructor(
    private readonly read: (() => Promise<number>) | null,
    private readonly ownRowsPerDelete: number,
  ) {
    this.state = read ? 'pending' : 'unknown';
  }

  /** A monitor for `dialect`; it starts its first window at once. */
  static async start(db: Kysely<Database>, dialect: DialectName): Promise<ActivityMonitor> {
    const monitor = new ActivityMonitor(counterReader(db, dialect), dialect === 'mysql' ? STATS_ROWS_PER_RUN : 0);
    await monitor.poll(true);
    return monitor;
  }

  /** Takes note of runs cleanup deleted, whose aggregate writes the counters will show. */
  deleted(runs: number): void {
    this.own += runs * this.ownRowsPerDelete;
  }

  /** Reads the counters when a window has passed (or when `force`d); a failing read turns the monitor off. */
  async poll(force = false): Promise<void> {
    if (!this.read) return;
    const at = performance.now();
    if (!force && this.last && at - this.last.at < ACTIVITY_WINDOW_MS) return;
    let rows: number;
    try {
      rows = await this.read();
    } catch {
      // No access to the counters (a locked-down role): the statements' own latency still paces cleanup.
      this.state = 'unknown';
      this.last = null;
      return;
    }
    const own = this.own;
    this.own = 0;
    if (this.last) {
      const perSecond = ((rows - this.last.rows - own) * 1000) / (at - this.last.at);
      this.state = perSecond > BUSY_ROWS_PER_SECOND ? 'busy' : 'quiet';
    }
    this.last = { at, rows };
  }
}

function counterReader(db: Kysely<Database>, dialect: DialectName): (() => Promise<number>) | null {
  if (dialect === 'postgres')
    return async () => {
      const { rows } = await sql<{ n: string | number | null }>`
        select n_tup_ins + n_tup_upd as n from pg_stat_user_tables
        where relid = to_regclass(${EXECUTION_TABLE})`.execute(db);
      return Number(rows[0]?.n ?? 0);
    };
  if (dialect === 'mysql')
    return async () => {
      const { rows } = await sql<{ Variable_name: string; Value: string }>`
        show global status where Variable_name in ('Innodb_rows_inserted', 'Innodb_rows_updated')`.execute(db);
      return rows.reduce((sum, r) => sum + Number(r.Value), 0);
    };
  return null;
}
