/**
 * Online compaction of `agentcore_task_stats`. Triggers only ever add to the aggregate rows: nothing removes them.
 * After cleanup deletes old runs, their hours', days' and creators' rows stay behind counting 0 (typically a `+n` row
 * and the cleanup connection's `−n` row), and the up to `STATS_SHARDS` rows of a hot key (one per writing connection)
 * never fold back into one. Compaction walks the table in primary-key order with a keyset cursor, a batch of about
 * `batchSize` rows (whole keys) at a time, and in each batch:
 *
 * - folds the rows of every key that has more than one into one, keeping the sum exact;
 * - deletes the rows that count 0, and all the rows of a key that sum to 0.
 *
 * **Exact while triggers write.** A batch locks the rows it changes and waits for none: on PostgreSQL and MySQL/MariaDB
 * it locks them by primary key with `FOR UPDATE SKIP LOCKED` (which reads their latest committed counts) and leaves the
 * rows a writer holds at that moment for the next compaction. It then changes only rows it holds: the key's lowest
 * locked shard gets the locked rows' sum, the other locked rows go. A trigger that wanted one of those rows waits for
 * the batch (one short statement or transaction), then adds its change to the kept row or, when its row went, inserts
 * it again: no count is lost or doubled. A row created after the batch read the table is not seen. Compaction never
 * waits for a writer, so it is never part of a deadlock. That is also why the sum goes to the lowest shard it locked
 * (shard 0 when the key has that row and no writer holds it) rather than always to shard 0: inserting a missing shard
 * 0 row could wait for a writer inserting the same row, while the batch holds rows that writer needs next.
 *
 * - PostgreSQL (READ COMMITTED): one statement a batch; see `postgresBatch`.
 * - MySQL/MariaDB: the batch's rows read without locks, then, when some key has more than one row or some row counts
 *   0, a READ COMMITTED transaction: a locking read of those rows by primary key, the deletes, and the kept rows' sums
 *   (`INSERT … ON DUPLICATE KEY UPDATE` on rows it holds).
 * - SQLite (one writer at a time): one `BEGIN IMMEDIATE` transaction a batch; there every key's rows fold into shard 0.
 */
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { ValidationError } from '../../errors.js';
import type { DialectName } from '../dialect.js';
import { STATS_TABLE, type StatsTable } from './table.js';

/** Rows a batch walks by default: its statement or transaction (and so a writer's longest wait) stays short. */
export const DEFAULT_COMPACT_BATCH_SIZE = 5_000;
const MAX_COMPACT_BATCH_SIZE = 100_000;
/** MySQL/MariaDB: primary keys per statement (7 placeholders each), well under the range optimizer's memory limit. */
const MYSQL_ROWS_PER_STATEMENT = 500;

export interface CompactOptions {
  /** Rows per batch (a batch takes whole keys, so up to `STATS_SHARDS - 1` more). @defaultValue `5000` */
  batchSize?: number;
}

export interface CompactResult {
  /** Rows walked. */
  scanned: number;
  /** Rows deleted after their count moved to the row their key keeps (other shards of the same key). */
  folded: number;
  /** Rows deleted because they counted 0, or because all the rows of their key summed to 0. */
  removed: number;
  /** Batches (key ranges) walked. */
  batches: number;
  /** Writing statements (PostgreSQL) or transactions (MySQL/MariaDB, SQLite) it ran. */
  statements: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the aggregate table, used through raw SQL.
type AnyDb = Kysely<any>;

/** The columns of a key; a key's rows differ only in `shard`. */
const KEY = ['grain', 'bucket', 'creator', 'module', 'task_name', 'status'] as const;
type Key = string[];
/** A row of the aggregate table as read back. */
type StatsRow = StatsTable;

const keyOf = (row: Record<string, unknown>): Key => KEY.map((c) => String(row[c]));
const keyColumns = (alias?: string) => sql.join(KEY.map((c) => sql.ref(alias ? `${alias}.${c}` : c)));
const sameKey = (a: string, b: string) =>
  sql.join(
    KEY.map((c) => sql`${sql.ref(`${a}.${c}`)} = ${sql.ref(`${b}.${c}`)}`),
    sql` and `,
  );

/**
 * `key > after` (`op` `'>'`) or `key <= upTo` (`'<='`, SQLite only), compared column by column in the primary key's
 * order. Row values on PostgreSQL and SQLite (where the index range starts and, on SQLite, ends); spelled out on
 * MySQL/MariaDB, whose MariaDB range optimizer does not use the index for a row-value inequality (it scanned the whole
 * index).
 */
function compare(dialect: DialectName, key: Key, op: '>' | '<='): RawBuilder<boolean> {
  if (dialect !== 'mysql')
    return sql<boolean>`(${keyColumns()}) ${sql.raw(op)} (${sql.join(key.map((v) => sql`${v}`))})`;
  const strict = sql.raw(op === '>' ? '>' : '<');
  let expr = sql<boolean>`${sql.ref(KEY[KEY.length - 1])} ${sql.raw(op)} ${key[KEY.length - 1]}`;
  for (let i = KEY.length - 2; i >= 0; i--) {
    const column = sql.ref(KEY[i]);
    expr = sql<boolean>`(${column} ${strict} ${key[i]} or (${column} = ${key[i]} and ${expr}))`;
  }
  return expr;
}

/** The rows of the keys after `after` (all when absent) up to `upTo` (to the end when absent). */
function range(dialect: DialectName, after: Key | undefined, upTo: Key | undefined): RawBuilder<boolean> {
  const parts = [...(after ? [compare(dialect, after, '>')] : []), ...(upTo ? [compare(dialect, upTo, '<=')] : [])];
  return parts.length > 0 ? sql<boolean>`${sql.join(parts, sql` and `)}` : sql<boolean>`1 = 1`;
}

/**
 * Compacts `agentcore_task_stats` online: folds the shard rows of each key into one and deletes the rows and keys that
 * count 0, in batches of about `batchSize` rows; see the file comment for how it stays exact while triggers write.
 * Counts (and so every stats answer) are unchanged; only rows go. Rows a writer holds at that moment are left for the
 * next compaction. `db` must not be a transaction (each batch is its own).
 *
 * @example
 * const { folded, removed } = await compactAggregates(tasks.db, tasks.dialect.name);
 */
export async function compactAggregates(
  db: AnyDb,
  dialect: DialectName,
  options: CompactOptions = {},
): Promise<CompactResult> {
  const batchSize = options.batchSize ?? DEFAULT_COMPACT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_COMPACT_BATCH_SIZE)
    throw new ValidationError(`batchSize must be an integer between 1 and ${MAX_COMPACT_BATCH_SIZE}`, 'batchSize');
  const result: CompactResult = { scanned: 0, folded: 0, removed: 0, batches: 0, statements: 0 };
  const stats = sql.table(STATS_TABLE);
  let after: Key | undefined;
  for (;;) {
    let upTo: Key | undefined;
    if (dialect === 'mysql') {
      upTo = await mysqlBatch(db, after, batchSize, result);
    } else if (dialect === 'postgres') {
      upTo = await postgresBatch(db, after, batchSize, result);
    } else {
      // The batch ends with the key of the row `batchSize` places on (all of its shards), or at the end of the table.
      const { rows } = await sql<Record<string, string>>`select ${keyColumns()} from ${stats}
        ${after ? sql`where ${compare(dialect, after, '>')}` : sql``}
        order by ${keyColumns()}, shard limit 1 offset ${batchSize - 1}`.execute(db);
      upTo = rows[0] ? keyOf(rows[0]) : undefined;
      await sqliteBatch(db, range(dialect, after, upTo), result);
    }
    result.batches++;
    if (!upTo) return result;
    after = upTo;
  }
}

/**
 * One PostgreSQL statement a batch: the `batchSize` rows after `after` in key order and the rest of the last key's
 * shards (`head`, `tail`: a `LIMIT` ends the index scan; a row-value upper bound would not, PostgreSQL 15 only stops a
 * scan on the bound's first column); locks, one by one by primary key and without waiting, the rows compaction would
 * change (those of keys with more than one row, those counting 0); then per key keeps the lowest locked shard with the
 * locked sum and deletes the other locked rows (all of them when the sum is 0). Returns the batch's last key, or
 * `undefined` at the end of the table.
 */
async function postgresBatch(
  db: AnyDb,
  after: Key | undefined,
  batchSize: number,
  result: CompactResult,
): Promise<Key | undefined> {
  const stats = sql.table(STATS_TABLE);
  const columns = sql`${keyColumns()}, shard, n`;
  const desc = sql.join([...KEY, 'shard'].map((c) => sql`${sql.ref(c)} desc`));
  const pk = (a: string, b: string) => sql`${sameKey(a, b)} and ${sql.ref(`${a}.shard`)} = ${sql.ref(`${b}.shard`)}`;
  const { rows } = await sql<
    Record<string, string> & { head: string; scanned: string; folded: string; removed: string }
  >`
    with head as materialized (
      select ${columns} from ${stats} ${after ? sql`where ${compare('postgres', after, '>')}` : sql``}
      order by ${keyColumns()}, shard limit ${batchSize}
    ), last as materialized (
      select ${columns} from head order by ${desc} limit 1
    ), tail as materialized (
      select ${sql.join([...KEY, 'shard', 'n'].map((c) => sql.ref(`s.${c}`)))}
      from last as l join ${stats} as s on ${sameKey('s', 'l')} and s.shard > l.shard
    ), ranged as materialized (
      select *, count(*) over (partition by ${keyColumns()}) as key_rows
      from (select * from head union all select * from tail) as x
    ), locked as materialized (
      select l.* from ranged as r cross join lateral (
        select ${columns} from ${stats} as s where ${pk('s', 'r')} for update skip locked
      ) as l
      where r.key_rows > 1 or r.n = 0
    ), fate as materialized (
      select ${columns}, min(shard) over w as keep, sum(n) over w as total, count(*) over w as key_rows
      from locked window w as (partition by ${keyColumns()})
    ), gone as (
      delete from ${stats} as s using fate as f
      where ${pk('s', 'f')} and (f.total = 0 or f.shard <> f.keep)
      returning f.total = 0 as zero
    ), kept as (
      update ${stats} as s set n = f.total from fate as f
      where ${pk('s', 'f')} and f.shard = f.keep and f.total <> 0 and f.key_rows > 1
      returning 1
    )
    select ${keyColumns('last')}, (select count(*) from head) as head, (select count(*) from ranged) as scanned,
      (select count(*) from gone where not zero) as folded, (select count(*) from gone where zero) as removed,
      (select count(*) from kept) as kept
    from last`.execute(db);
  result.statements++;
  const row = rows[0];
  if (!row) return undefined;
  result.scanned += Number(row.scanned);
  result.folded += Number(row.folded);
  result.removed += Number(row.removed);
  return Number(row.head) < batchSize ? undefined : keyOf(row);
}

/** One SQLite transaction (the write lock held): fold every key's other shards into shard 0, then drop the zeros. */
async function sqliteBatch(db: AnyDb, inRange: RawBuilder<boolean>, result: CompactResult): Promise<void> {
  const stats = sql.table(STATS_TABLE);
  await db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${stats} where ${inRange}`.execute(conn);
      result.scanned += Number(rows[0]?.n ?? 0);
      await sql`insert into ${stats} (${keyColumns()}, shard, n)
        select ${keyColumns()}, 0, sum(n) from ${stats} where ${inRange} and shard <> 0 group by ${keyColumns()}
        on conflict (${keyColumns()}, shard) do update set n = n + excluded.n`.execute(conn);
      const folded = await sql`delete from ${stats} where ${inRange} and shard <> 0`.execute(conn);
      const removed = await sql`delete from ${stats} where ${inRange} and n = 0`.execute(conn);
      await sql`commit`.execute(conn);
      result.folded += Number(folded.numAffectedRows ?? 0);
      result.removed += Number(removed.numAffectedRows ?? 0);
      result.statements++;
    } catch (error) {
      await sql`rollback`.execute(conn);
      throw error;
    }
  });
}

/**
 * One MySQL/MariaDB batch: read the batch's rows without locks (whole keys), and when some key has more than one row
 * or some row counts 0, a READ COMMITTED transaction locks those rows by primary key without waiting, deletes the ones
 * that go and writes the kept rows' sums. Returns the batch's last key, or `undefined` at the end of the table.
 */
async function mysqlBatch(
  db: AnyDb,
  after: Key | undefined,
  batchSize: number,
  result: CompactResult,
): Promise<Key | undefined> {
  const stats = sql.table(STATS_TABLE);
  const columns = sql`${keyColumns()}, shard, n`;
  const { rows } = await sql<StatsRow>`select ${columns} from ${stats}
    ${after ? sql`where ${compare('mysql', after, '>')}` : sql``}
    order by ${keyColumns()}, shard limit ${batchSize}`.execute(db);
  let upTo: Key | undefined;
  const last = rows.at(-1);
  if (last && rows.length === batchSize) {
    // The rest of the last key's shards, so that the batch holds whole keys.
    upTo = keyOf(last as unknown as Record<string, unknown>);
    const { rows: rest } = await sql<StatsRow>`select ${columns} from ${stats}
      where ${sql.join(
        KEY.map((c, i) => sql`${sql.ref(c)} = ${upTo![i]}`),
        sql` and `,
      )} and shard > ${last.shard} order by shard`.execute(db);
    rows.push(...rest);
  }
  result.scanned += rows.length;
  const candidates = changing(rows);
  if (candidates.length === 0) return upTo;

  const removed = await db
    .transaction()
    .setIsolationLevel('read committed')
    .execute(async (trx) => {
      const locked: StatsRow[] = [];
      for (let i = 0; i < candidates.length; i += MYSQL_ROWS_PER_STATEMENT) {
        const { rows: some } = await sql<StatsRow>`select ${columns} from ${stats}
          where (${keyColumns()}, shard) in (${primaryKeys(candidates.slice(i, i + MYSQL_ROWS_PER_STATEMENT))})
          for update skip locked`.execute(trx);
        locked.push(...some);
      }
      const { remove, keep } = plan(locked);
      for (let i = 0; i < remove.length; i += MYSQL_ROWS_PER_STATEMENT) {
        await sql`delete from ${stats} where (${keyColumns()}, shard) in (${primaryKeys(
          remove.slice(i, i + MYSQL_ROWS_PER_STATEMENT),
        )})`.execute(trx);
      }
      // The kept rows are locked by this transaction: the upsert only sets their sums.
      for (let i = 0; i < keep.length; i += MYSQL_ROWS_PER_STATEMENT) {
        const values = keep
          .slice(i, i + MYSQL_ROWS_PER_STATEMENT)
          .map((r) => sql`(${sql.join([...keyOf(r as unknown as Record<string, unknown>), r.shard, r.n])})`);
        await sql`insert into ${stats} (${keyColumns()}, shard, n) values ${sql.join(values)}
          on duplicate key update n = values(n)`.execute(trx);
      }
      return remove;
    });
  for (const r of removed) result[r.zero ? 'removed' : 'folded']++;
  result.statements++;
  return upTo;
}

/** `(…key, shard), …` of `rows`, for a row-value `IN` list (a primary-key range on MySQL/MariaDB). */
function primaryKeys(rows: StatsRow[]) {
  return sql.join(
    rows.map((r) => sql`(${sql.join([...keyOf(r as unknown as Record<string, unknown>), Number(r.shard)])})`),
  );
}

/** The rows (in key order, whole keys) compaction would change: those of keys with more than one row, zero rows. */
function changing(rows: StatsRow[]): StatsRow[] {
  const out: StatsRow[] = [];
  for (const group of byKey(rows)) {
    if (group.length > 1) out.push(...group);
    else if (Number(group[0].n) === 0) out.push(group[0]);
  }
  return out;
}

/**
 * What to do with locked rows: per key, the lowest shard keeps the sum (when there were several rows and the sum is
 * not 0), the other rows go (all of them when the sum is 0).
 */
function plan(locked: StatsRow[]): { remove: Array<StatsRow & { zero: boolean }>; keep: StatsRow[] } {
  const remove: Array<StatsRow & { zero: boolean }> = [];
  const keep: StatsRow[] = [];
  for (const group of byKey(locked)) {
    const total = group.reduce((sum, r) => sum + Number(r.n), 0);
    const lowest = group.reduce((low, r) => (Number(r.shard) < Number(low.shard) ? r : low));
    if (total === 0) {
      for (const r of group) remove.push({ ...r, zero: true });
      continue;
    }
    if (group.length === 1) continue;
    for (const r of group) if (r !== lowest) remove.push({ ...r, zero: false });
    keep.push({ ...lowest, n: total });
  }
  return { remove, keep };
}

/** `rows` grouped by key (rows of one key need not be adjacent). */
function byKey(rows: StatsRow[]): StatsRow[][] {
  const groups = new Map<string, StatsRow[]>();
  for (const r of rows) {
    const id = JSON.stringify(keyOf(r as unknown as Record<string, unknown>));
    const group = groups.get(id);
    if (group) group.push(r);
    else groups.set(id, [r]);
  }
  return [...groups.values()];
}
