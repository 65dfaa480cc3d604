import { type RawBuilder, sql } from 'kysely';
import { type Granularity, isConnectionError, jsonPathForKey, type SqlDialect } from '../dialect.js';

const BUCKET_FORMAT: Record<Granularity, string> = { day: '%H:00', month: '%Y-%m-%d', year: '%Y-%m' };

/**
 * MySQL and MariaDB: JSON columns (LONGTEXT with a JSON check on MariaDB), merged per key with `JSON_SET`.
 * `JSON_EXTRACT(?, '$')` makes the bound text a JSON value on both servers (a bare string would be stored quoted).
 */
export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  supportsReturning: false,
  toDbDate: (date) => date,
  parseJson: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
  json: (text) => sql`${text}`,
  mergeMetadata({ entries }, keepExisting = false) {
    const fn = keepExisting ? sql.raw('JSON_INSERT') : sql.raw('JSON_SET');
    const args = entries.map(([path, v]) => sql`${path}, JSON_EXTRACT(${v}, '$')`);
    return sql`${fn}(metadata, ${sql.join(args)})`;
  },
  metadataEquals(key, value) {
    // The unquoted text is utf8mb4_bin: exact in case but PAD SPACE ('a' = 'a '), so equal lengths are required too.
    const text = sql`JSON_UNQUOTE(JSON_EXTRACT(metadata, ${jsonPathForKey(key)}))`;
    return sql<boolean>`(${text} = ${value} AND CHAR_LENGTH(${text}) = CHAR_LENGTH(${value}))`;
  },
  createdAtBucket: (granularity): RawBuilder<string> =>
    sql<string>`DATE_FORMAT(created_at, ${sql.lit(BUCKET_FORMAT[granularity])})`,
  // A lost deadlock or lock wait rolled the statement back: running it again is safe, and drops nothing.
  isTransientError: (error) =>
    isConnectionError(
      error,
      (code) =>
        code === 'ER_SERVER_SHUTDOWN' ||
        code === 'ER_SERVER_GONE_ERROR' ||
        code === 'ER_LOCK_DEADLOCK' ||
        code === 'ER_LOCK_WAIT_TIMEOUT',
    ),
};
