import {
  type DefaultQueryCompiler,
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteQueryCompiler,
} from 'kysely';
import type { DialectName } from '../../src/store/dialect.js';
import type { Database } from '../../src/store/schema.js';

/**
 * A Kysely that only compiles, never connects (Kysely's own `testSql` approach): tests assert the SQL each dialect's
 * statement produces.
 */
export function compiler(name: DialectName): Kysely<Database> {
  const parts: Record<DialectName, [new () => unknown, new () => DefaultQueryCompiler]> = {
    postgres: [PostgresAdapter, PostgresQueryCompiler],
    mysql: [MysqlAdapter, MysqlQueryCompiler],
    sqlite: [SqliteAdapter, SqliteQueryCompiler],
  };
  const [Adapter, Compiler] = parts[name];
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new Adapter() as never,
      createDriver: () => new DummyDriver(),
      createIntrospector: () => ({}) as never,
      createQueryCompiler: () => new Compiler(),
    },
  });
}
