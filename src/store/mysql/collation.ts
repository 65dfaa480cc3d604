import { type Kysely, sql } from 'kysely';
import { CONFIG_TABLE, EXECUTION_TABLE, LOCK_TABLE } from '../schema.js';

// biome-ignore lint/suspicious/noExplicitAny: runs inside a migration, before our table types apply.
type AnyKysely = Kysely<any>;

/**
 * Binary collations that also compare trailing spaces (NO PAD), best first: MySQL 8's `utf8mb4_0900_bin`, then
 * MariaDB's `utf8mb4_nopad_bin` (10.2+). Plain `utf8mb4_bin` is PAD SPACE on both servers (`'a' = 'a '` is true), so
 * it is only the last resort on a server that has neither (older than our JSON column defaults need anyway).
 */
export const EXACT_COLLATIONS = ['utf8mb4_0900_bin', 'utf8mb4_nopad_bin', 'utf8mb4_bin'] as const;

/** One identifier column and the attributes its `MODIFY` must keep (as migrations 0001 and 0002 created it). */
interface IdentifierColumn {
  table: string;
  column: string;
  /** `DEFAULT` clause (SQL literal) or `null` for none. */
  default: string | null;
}

/**
 * The columns matched by `=` (or grouped on) as identifiers, which must compare exactly as on PostgreSQL and SQLite:
 * a run's id, what a list filters on, a config key, a lock's name and owner token. Free text (`error`, `traceback`,
 * `created_by_username`, config `value`) keeps the table's collation: it is shown, never matched.
 */
export const IDENTIFIER_COLUMNS: readonly IdentifierColumn[] = [
  { table: EXECUTION_TABLE, column: 'task_id', default: null },
  { table: EXECUTION_TABLE, column: 'task_name', default: "''" },
  { table: EXECUTION_TABLE, column: 'module', default: "''" },
  { table: EXECUTION_TABLE, column: 'status', default: "'PENDING'" },
  { table: EXECUTION_TABLE, column: 'created_by_id', default: null },
  { table: EXECUTION_TABLE, column: 'queue_name', default: null },
  { table: CONFIG_TABLE, column: 'key', default: null },
  { table: LOCK_TABLE, column: 'name', default: null },
  { table: LOCK_TABLE, column: 'owner', default: null },
];

/** The best exact collation this server has (asked of `information_schema.COLLATIONS`, so it works on both). */
export async function exactCollation(db: AnyKysely): Promise<string> {
  const { rows } = await sql<{ name: string }>`select collation_name as name from information_schema.collations
    where collation_name in (${sql.join([...EXACT_COLLATIONS])})`.execute(db);
  const found = new Set(rows.map((r) => r.name));
  const best = EXACT_COLLATIONS.find((c) => found.has(c));
  if (!best) throw new Error('this MySQL/MariaDB server has no utf8mb4 binary collation');
  return best;
}

/**
 * Converts every identifier column that is not yet in `collation` (utf8mb4) with one `ALTER TABLE … MODIFY` per
 * table, keeping each column's type and length (`COLUMN_TYPE`), nullability and default. Columns already converted
 * are left alone, so running it again changes nothing. A unique index or primary key on a converted column is rebuilt
 * by the server; it cannot fail on existing rows, since values distinct under a case-insensitive collation are
 * distinct under a binary one. Returns the `table.column` names it converted.
 */
export async function makeIdentifiersExact(db: AnyKysely, collation: string): Promise<string[]> {
  const tables = [...new Set(IDENTIFIER_COLUMNS.map((c) => c.table))];
  const { rows } = await sql<{
    table_name: string;
    column_name: string;
    column_type: string;
    is_nullable: string;
    collation_name: string | null;
  }>`select table_name as table_name, column_name as column_name, column_type as column_type,
      is_nullable as is_nullable, collation_name as collation_name
    from information_schema.columns
    where table_schema = database() and table_name in (${sql.join(tables)})`.execute(db);
  const current = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));
  const converted: string[] = [];
  for (const table of tables) {
    const clauses: string[] = [];
    for (const spec of IDENTIFIER_COLUMNS.filter((c) => c.table === table)) {
      const column = current.get(`${table}.${spec.column}`);
      if (!column || column.collation_name === collation) continue;
      const nullability = column.is_nullable === 'NO' ? ' not null' : ' null';
      const fallback = spec.default === null ? '' : ` default ${spec.default}`;
      clauses.push(
        `modify \`${spec.column}\` ${column.column_type} character set utf8mb4 collate ${collation}${nullability}${fallback}`,
      );
      converted.push(`${table}.${spec.column}`);
    }
    if (clauses.length > 0) await sql.raw(`alter table \`${table}\` ${clauses.join(', ')}`).execute(db);
  }
  return converted;
}
