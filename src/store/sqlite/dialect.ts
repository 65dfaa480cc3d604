import { type RawBuilder, sql } from 'kysely';
import { type Granularity, isConnectionError, jsonPathForKey, type SqlDialect } from '../dialect.js';

// Timestamps are stored as ISO-8601 text (`2026-11-25T10:00:00.000Z`), which sorts and compares as time does.
const BUCKET: Record<Granularity, RawBuilder<string>> = {
  day: sql<string>`substr(created_at, 12, 2) || ':00'`,
  month: sql<string>`substr(created_at, 1, 10)`,
  year: sql<string>`substr(created_at, 1, 7)`,
};

/** SQLite: JSON as text, merged per key with `json_set`; `json(?)` marks the bound text as JSON. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  supportsReturning: true,
  toDbDate: (date) => date.toISOString(),
  parseJson: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
  json: (text) => sql`${text}`,
  mergeMetadata({ entries }, keepExisting = false) {
    const fn = keepExisting ? sql.raw('json_insert') : sql.raw('json_set');
    const args = entries.map(([path, v]) => sql`${path}, json(${v})`);
    return sql`${fn}(metadata, ${sql.join(args)})`;
  },
  metadataEquals: (key, value) =>
    sql<boolean>`(CASE json_type(metadata, ${jsonPathForKey(key)}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(metadata, ${jsonPathForKey(key)}) AS TEXT) END) = ${value}`,
  createdAtBucket: (granularity) => BUCKET[granularity],
  isTransientError: (error) => isConnectionError(error),
};
