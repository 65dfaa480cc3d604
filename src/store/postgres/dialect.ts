import { type RawBuilder, sql } from 'kysely';
import { type Granularity, isConnectionError, type SqlDialect } from '../dialect.js';

const BUCKET_FORMAT: Record<Granularity, string> = { day: 'HH24":00"', month: 'YYYY-MM-DD', year: 'YYYY-MM' };

/** PostgreSQL: JSONB with `||` merges and GIN-indexed containment for metadata filters. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  supportsReturning: true,
  toDbDate: (date) => date,
  parseJson: (value) => value,
  json: (text) => sql`CAST(${text} AS jsonb)`,
  mergeMetadata({ object }, keepExisting = false) {
    return keepExisting ? sql`CAST(${object} AS jsonb) || metadata` : sql`metadata || CAST(${object} AS jsonb)`;
  },
  metadataEquals(key, value) {
    // Containment (`@>`) uses the GIN index. A query string matches a stored string, and also a stored number or
    // boolean whose JSON text is the same.
    const candidates = [JSON.stringify({ [key]: value })];
    const literal = parseScalar(value);
    if (literal !== undefined) candidates.push(JSON.stringify({ [key]: literal }));
    const parts = candidates.map((c) => sql<boolean>`metadata @> CAST(${c} AS jsonb)`);
    return sql<boolean>`(${sql.join(parts, sql` OR `)})`;
  },
  createdAtBucket: (granularity): RawBuilder<string> =>
    sql<string>`to_char(created_at AT TIME ZONE 'UTC', ${sql.lit(BUCKET_FORMAT[granularity])})`,
  // 40P01 deadlock_detected, 40001 serialization_failure: the statement was rolled back; running it again is safe.
  isTransientError: (error) =>
    isConnectionError(
      error,
      (code) =>
        code.startsWith('08') ||
        code === '57P01' ||
        code === '57P02' ||
        code === '57P03' ||
        code === '40P01' ||
        code === '40001',
    ),
};

function parseScalar(value: string): number | boolean | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value) && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
