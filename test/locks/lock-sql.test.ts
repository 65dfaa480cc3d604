import { describe, expect, it } from 'vitest';
import { LOCK_DIALECTS } from '../../src/locks/database/database-lock-provider.js';
import type { DialectName } from '../../src/store/dialect.js';
import { compiler } from '../helpers/compiler.js';

const acquireSql = (name: DialectName) =>
  LOCK_DIALECTS[name].acquireQuery(compiler(name), 'agentcore_task_task_lock:k', 'owner-1', 2500).compile();

describe('database lock acquisition SQL', () => {
  it('postgres: one upsert that takes over only an expired row, on the database clock', () => {
    const { sql, parameters } = acquireSql('postgres');
    expect(sql).toBe(
      'insert into "agentcore_task_lock" ("name", "owner", "expires_at", "created_at") ' +
        "values ($1, $2, now() + cast($3 as double precision) * interval '1 millisecond', now()) " +
        'on conflict ("name") do update set "owner" = "excluded"."owner", "expires_at" = "excluded"."expires_at", ' +
        '"created_at" = "excluded"."created_at" where "agentcore_task_lock"."expires_at" <= now() returning "owner"',
    );
    expect(parameters).toEqual(['agentcore_task_task_lock:k', 'owner-1', 2500]);
  });

  it('mysql: ON DUPLICATE KEY UPDATE with expires_at assigned last (assignments run left to right)', () => {
    const { sql, parameters } = acquireSql('mysql');
    const takeOver = (c: string) => `\`${c}\` = IF(\`expires_at\` <= UTC_TIMESTAMP(3), VALUES(\`${c}\`), \`${c}\`)`;
    expect(sql).toBe(
      'insert into `agentcore_task_lock` (`name`, `owner`, `expires_at`, `created_at`) ' +
        'values (?, ?, DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND), UTC_TIMESTAMP(3)) ' +
        `on duplicate key update ${takeOver('owner')}, ${takeOver('created_at')}, ${takeOver('expires_at')}`,
    );
    expect(parameters).toEqual(['agentcore_task_task_lock:k', 'owner-1', 2_500_000]);
  });

  it('sqlite: the same upsert as PostgreSQL over ISO-8601 text from strftime', () => {
    const { sql, parameters } = acquireSql('sqlite');
    const now = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
    expect(sql).toBe(
      'insert into "agentcore_task_lock" ("name", "owner", "expires_at", "created_at") ' +
        `values (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?), ${now}) ` +
        'on conflict ("name") do update set "owner" = "excluded"."owner", "expires_at" = "excluded"."expires_at", ' +
        `"created_at" = "excluded"."created_at" where "agentcore_task_lock"."expires_at" <= ${now} returning "owner"`,
    );
    expect(parameters).toEqual(['agentcore_task_task_lock:k', 'owner-1', '+2.5 seconds']);
  });
});
