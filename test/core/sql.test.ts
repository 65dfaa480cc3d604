import { describe, expect, it } from 'vitest';
import { type DialectName, metadataMerge, type SqlDialect } from '../../src/store/dialect.js';
import { mysqlDialect } from '../../src/store/mysql/dialect.js';
import { postgresDialect } from '../../src/store/postgres/dialect.js';
import { sqliteDialect } from '../../src/store/sqlite/dialect.js';
import { compiler } from '../helpers/compiler.js';

const DIALECT: Record<DialectName, SqlDialect> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  sqlite: sqliteDialect,
};

function mergeSql(name: DialectName, keepExisting = false) {
  const db = compiler(name);
  return db
    .updateTable('agentcore_task_execution')
    .set({
      metadata: DIALECT[name].mergeMetadata(
        metadataMerge([
          ['a', '1'],
          ['b"c', '"x"'],
        ]),
        keepExisting,
      ),
    })
    .where('task_id', '=', 't')
    .compile();
}

describe('dialect SQL', () => {
  it('merges metadata in one statement per dialect', () => {
    const pg = mergeSql('postgres');
    expect(pg.sql).toBe(
      'update "agentcore_task_execution" set "metadata" = metadata || CAST($1 AS jsonb) where "task_id" = $2',
    );
    expect(pg.parameters).toEqual(['{"a":1,"b\\"c":"x"}', 't']);
    const my = mergeSql('mysql');
    expect(my.sql).toBe(
      "update `agentcore_task_execution` set `metadata` = JSON_SET(metadata, ?, JSON_EXTRACT(?, '$'), ?, JSON_EXTRACT(?, '$')) where `task_id` = ?",
    );
    expect(my.parameters).toEqual(['$."a"', '1', '$."b\\"c"', '"x"', 't']);
    const lite = mergeSql('sqlite');
    expect(lite.sql).toBe(
      'update "agentcore_task_execution" set "metadata" = json_set(metadata, ?, json(?), ?, json(?)) where "task_id" = ?',
    );
  });

  it('keeps existing keys when a late registration merges its metadata', () => {
    expect(mergeSql('postgres', true).sql).toContain('CAST($1 AS jsonb) || metadata');
    expect(mergeSql('mysql', true).sql).toContain('JSON_INSERT(metadata');
    expect(mergeSql('sqlite', true).sql).toContain('json_insert(metadata');
  });

  it('filters metadata through the GIN-indexable containment operator on PostgreSQL', () => {
    const q = compiler('postgres')
      .selectFrom('agentcore_task_execution')
      .selectAll()
      .where(postgresDialect.metadataEquals('order_id', '42'))
      .compile();
    expect(q.sql).toContain('(metadata @> CAST($1 AS jsonb) OR metadata @> CAST($2 AS jsonb))');
    expect(q.parameters).toEqual(['{"order_id":"42"}', '{"order_id":42}']);
  });
});
