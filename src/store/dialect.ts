import type { Expression, RawBuilder, SqlBool } from 'kysely';

/** The three supported databases. MariaDB uses `mysql`. */
export type DialectName = 'postgres' | 'mysql' | 'sqlite';

/** Time buckets of the stats series. */
export type Granularity = 'day' | 'month' | 'year';

/**
 * The dialect-specific pieces of SQL, one implementation per folder (`postgres/`, `mysql/`, `sqlite/`). Everything
 * else in the store is written once with the query builder. Each statement here is asserted in `test/store/sql.test.ts`.
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** `true` when `INSERT/UPDATE … RETURNING` is available. */
  readonly supportsReturning: boolean;
  /** A timestamp parameter as the driver wants it. */
  toDbDate(date: Date): Date | string;
  /** A JSON column value (text or parsed) as a JS value. */
  parseJson(value: unknown): unknown;
  /** A JSON column value to write, from its serialization. */
  json(text: string): RawBuilder<unknown>;
  /**
   * The new `metadata` after merging top-level keys in one statement: PostgreSQL reads `merge.object` (the patch as
   * one JSON object text), the others `merge.entries` (JSON path and JSON text per key). `keepExisting` keeps keys
   * already stored (the late-register case); otherwise the patch wins. Values may be placeholders (see
   * `ExecutionStore.update`), so implementations only bind them, never inspect them.
   */
  mergeMetadata(merge: MetadataMerge, keepExisting?: boolean): RawBuilder<unknown>;
  /** `metadata.<key> = value` compared as text; `value` is the raw query string. */
  metadataEquals(key: string, value: string): Expression<SqlBool>;
  /** The text bucket (`HH:00`, `YYYY-MM-DD` or `YYYY-MM`) of `created_at` for a stats series. */
  createdAtBucket(granularity: Granularity): RawBuilder<string>;
  /** `true` when `error` means the database could not be reached (worth retrying), not that the statement is wrong. */
  isTransientError(error: unknown): boolean;
}

/** The parameters of a metadata merge. See `SqlDialect.mergeMetadata`. */
export interface MetadataMerge {
  object: unknown;
  entries: ReadonlyArray<readonly [path: unknown, json: unknown]>;
}

/** Builds the merge parameters from `[key, JSON text]` pairs. */
export function metadataMerge(pairs: ReadonlyArray<readonly [string, string]>): MetadataMerge {
  return {
    object: `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`,
    entries: pairs.map(([k, v]) => [jsonPathForKey(k), v] as const),
  };
}

/**
 * JSON path of one top-level key, quoted as a JSON string so any key is safe, control characters included:
 * `$."a.b"`, `$."\u0001"` (MariaDB, MySQL and SQLite all read the quoted name with JSON's escapes).
 */
export function jsonPathForKey(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** Connection-level failures shared by every driver (socket errors), plus `extraCodes` of the dialect. */
export function isConnectionError(error: unknown, extra: (code: string) => boolean = () => false): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || extra(code))) return true;
    const message = e instanceof Error ? e.message : '';
    if (
      /Connection terminated|connection (?:is )?closed|Client has encountered a connection error|timeout exceeded when trying to connect|Cannot enqueue|socket hang up|the database system is (?:starting up|shutting down)|terminating connection/i.test(
        message,
      )
    )
      return true;
  }
  return false;
}
