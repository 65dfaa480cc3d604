import mysql from 'mysql2/promise';
import pg from 'pg';
import { MYSQL_ADMIN_URL, PG_ADMIN_URL, REDIS_URL } from './env.js';

/**
 * Fails the whole run at once, naming the service, when PostgreSQL, MariaDB or Redis cannot be reached: no dialect
 * is ever skipped silently.
 */
export default async function setup(): Promise<void> {
  const problems: string[] = [];
  try {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
    await c.connect();
    await c.end();
  } catch (e) {
    problems.push(`PostgreSQL at ${PG_ADMIN_URL}: ${(e as Error).message}`);
  }
  try {
    const c = await mysql.createConnection({ uri: MYSQL_ADMIN_URL, connectTimeout: 5000 });
    await c.end();
  } catch (e) {
    problems.push(`MariaDB/MySQL at ${MYSQL_ADMIN_URL}: ${(e as Error).message}`);
  }
  try {
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
    await r.connect();
    await r.ping();
    r.disconnect();
  } catch (e) {
    problems.push(`Redis at ${REDIS_URL}: ${(e as Error).message}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Test services unreachable (start them with: bash ../shared/services.sh):\n  ${problems.join('\n  ')}`,
    );
  }
}
