import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { DialectName } from '../../src/store/dialect.js';
import { MYSQL_ADMIN_URL, PG_ADMIN_URL } from './env.js';

/** Every dialect the suite runs against. The same tests run on all three real databases. */
export const DIALECTS: DialectName[] = ['postgres', 'mysql', 'sqlite'];

export interface TestDatabase {
  dialect: DialectName;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Creates an empty database of its own for one test file (graphile/pg-boss style: a namespace per test, nothing
 * shared), and returns its URL and a function that drops it.
 */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  const name = `act_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    return {
      dialect,
      url: withDatabase(PG_ADMIN_URL, name),
      async drop() {
        const c = new pg.Client({ connectionString: PG_ADMIN_URL });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      },
    };
  }
  if (dialect === 'mysql') {
    const admin = await mysql.createConnection(MYSQL_ADMIN_URL);
    await admin.query(`create database ${name}`);
    await admin.end();
    return {
      dialect,
      url: withDatabase(MYSQL_ADMIN_URL, name),
      async drop() {
        const c = await mysql.createConnection(MYSQL_ADMIN_URL);
        await c.query(`drop database if exists ${name}`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'act-sqlite-'));
  return {
    dialect,
    url: `sqlite:${join(dir, `${name}.db`)}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * In a `describe` block: a fresh database of `dialect` for the block, dropped after it. Read `.url` inside tests.
 */
export function useTestDatabase(dialect: DialectName): { readonly url: string } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get url() {
      if (!db) throw new Error('test database not created yet');
      return db.url;
    },
  };
}
