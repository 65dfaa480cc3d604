import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  createAgentcoreTask,
  DEFAULT_SETTINGS,
  isValidCrontab,
  silentLogger,
} from '../../src/index.js';
import { settingsFromEnv } from '../../src/settings.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

describe('settings from the environment', () => {
  it('reads every AGENTCORE_TASK_* variable', () => {
    expect(
      settingsFromEnv({
        AGENTCORE_TASK_CLEANUP_ENABLED: 'false',
        AGENTCORE_TASK_CLEANUP_CRONTAB: '0 3 * * *',
        AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS: '12',
        AGENTCORE_TASK_RETENTION_DAYS: '7',
        AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED: '0',
        AGENTCORE_TASK_MARK_TIMEOUT_ENABLED: 'yes',
        AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB: '*/5 * * * *',
        AGENTCORE_TASK_TIMEOUT_MINUTES: '45',
      }),
    ).toEqual({
      cleanupEnabled: false,
      cleanupCrontab: '0 3 * * *',
      cleanupBeatIntervalHours: 12,
      retentionDays: 7,
      cleanupOnlyCompleted: false,
      markTimeoutEnabled: true,
      markTimeoutCrontab: '*/5 * * * *',
      timeoutMinutes: 45,
    });
  });

  it('a malformed variable is a start-up error naming it', async () => {
    expect(() => settingsFromEnv({ AGENTCORE_TASK_RETENTION_DAYS: 'abc' })).toThrow(/AGENTCORE_TASK_RETENTION_DAYS/);
    await expect(
      createAgentcoreTask({
        database: 'sqlite::memory:',
        env: { AGENTCORE_TASK_CLEANUP_ENABLED: 'maybe' },
        logger: silentLogger,
      }),
    ).rejects.toMatchObject({ name: 'ValidationError', field: 'AGENTCORE_TASK_CLEANUP_ENABLED' });
  });

  it('an invalid code setting is a start-up error naming it', async () => {
    await expect(
      createAgentcoreTask({
        database: 'sqlite::memory:',
        settings: { timeoutMinutes: 0 },
        env: {},
        logger: silentLogger,
      }),
    ).rejects.toMatchObject({ field: 'timeoutMinutes' });
  });

  it('validates crontabs with croner: 5 fields only', () => {
    expect(isValidCrontab('0 2 * * *')).toBe(true);
    expect(isValidCrontab('*/30 * * * *')).toBe(true);
    expect(isValidCrontab('61 * * * *')).toBe(false);
    expect(isValidCrontab('not a cron')).toBe(false);
    expect(isValidCrontab('* * * * * *')).toBe(false);
  });
});

describe.each(DIALECTS)('settings precedence on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      env: { AGENTCORE_TASK_RETENTION_DAYS: '14', AGENTCORE_TASK_TIMEOUT_MINUTES: '20' },
      settings: { timeoutMinutes: 25 },
    });
  });
  afterAll(async () => tasks?.close());

  it('environment < code < config table, and the table is seen by other instances at once', async () => {
    expect(await tasks.settings.get()).toEqual({ ...DEFAULT_SETTINGS, retentionDays: 14, timeoutMinutes: 25 });
    const other = await createAgentcoreTask({ database: database.url, logger: silentLogger, migrate: false, env: {} });
    try {
      await other.settings.patch({ timeout_minutes: 90, cleanup_crontab: '0 4 * * *' });
      const effective = await tasks.settings.get();
      expect(effective).toMatchObject({ retentionDays: 14, timeoutMinutes: 90, cleanupCrontab: '0 4 * * *' });
    } finally {
      await other.close();
    }
  });

  it('a bad patch names the field and stores nothing', async () => {
    const before = await tasks.settings.get();
    await expect(tasks.settings.patch({ retention_days: 5, timeout_minutes: 5000 })).rejects.toMatchObject({
      field: 'timeout_minutes',
    });
    await expect(tasks.settings.patch({ mark_timeout_crontab: 'every minute' })).rejects.toMatchObject({
      field: 'mark_timeout_crontab',
    });
    await expect(tasks.settings.patch({ bogus: 1 })).rejects.toMatchObject({ field: 'bogus' });
    expect(await tasks.settings.get()).toEqual(before);
  });
});
