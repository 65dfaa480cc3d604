import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskLogCollector } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

describe('TaskLogCollector', () => {
  it('keeps the newest maxRecords entries and summarizes them by level', () => {
    const logs = new TaskLogCollector({ maxRecords: 3 });
    logs.debug('d');
    logs.info('i');
    logs.warning('w');
    logs.error('e', new RangeError('boom'));
    expect(logs.getLogs().map((l) => l.message)).toEqual(['i', 'w', 'e']);
    expect(logs.getWarningsAndErrors().map((l) => l.level)).toEqual(['WARNING', 'ERROR']);
    expect(logs.getSummary()).toEqual({ total: 3, by_level: { INFO: 1, WARNING: 1, ERROR: 1 } });
    const last = logs.getLogs()[2];
    expect(last.exception).toMatchObject({ name: 'RangeError', message: 'boom' });
    expect(Date.parse(last.timestamp)).not.toBeNaN();
    logs.clear();
    expect(logs.getLogs()).toEqual([]);
    expect(logs.getSummary()).toEqual({ total: 0, by_level: {} });
    expect(new TaskLogCollector().maxRecords).toBe(1000);
  });

  it("stores Python's level names, as the Django module does, and counts only the levels that occur", () => {
    const logs = new TaskLogCollector();
    logs.debug('d');
    logs.info('i1');
    logs.info('i2');
    logs.warning('w');
    logs.error('e');
    logs.critical('c', 'disk full');
    expect(logs.getLogs().map((l) => l.level)).toEqual(['DEBUG', 'INFO', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);
    // Python: [log for log in records if log['level'] in ('WARNING', 'ERROR', 'CRITICAL')]
    expect(logs.getWarningsAndErrors().map((l) => l.message)).toEqual(['w', 'e', 'c']);
    expect(logs.getSummary()).toEqual({
      total: 6,
      by_level: { DEBUG: 1, INFO: 2, WARNING: 1, ERROR: 1, CRITICAL: 1 },
    });
    expect(logs.getLogs()[5].exception).toMatchObject({ name: 'Error', message: 'disk full' });

    const quiet = new TaskLogCollector();
    quiet.info('only info');
    // A level with no entry is absent, not 0 (the Django module builds by_level from the entries).
    expect(quiet.getSummary()).toEqual({ total: 1, by_level: { INFO: 1 } });
    expect(quiet.getWarningsAndErrors()).toEqual([]);
  });

  it('reads stored levels of any age: lower-case rows of earlier releases count with the new ones', () => {
    for (const [stored, name] of [
      ['info', 'INFO'],
      ['INFO', 'INFO'],
      ['warning', 'WARNING'],
      ['warn', 'WARNING'],
      ['WARN', 'WARNING'],
      ['error', 'ERROR'],
      ['debug', 'DEBUG'],
      ['critical', 'CRITICAL'],
      ['fatal', 'CRITICAL'],
      [' Error ', 'ERROR'],
      ['notice', 'NOTICE'],
      ['', 'UNKNOWN'],
      [undefined, 'UNKNOWN'],
      [40, 'UNKNOWN'],
    ] as const)
      expect(TaskLogCollector.normalizeLevel(stored), String(stored)).toBe(name);

    const fresh = new TaskLogCollector();
    fresh.info('new');
    fresh.warning('new');
    const stored = [
      { level: 'info', message: 'old', timestamp: '2026-01-01T00:00:00.000Z' },
      { level: 'error', message: 'old', timestamp: '2026-01-01T00:00:01.000Z' },
      { level: 'warning', message: 'old', timestamp: '2026-01-01T00:00:02.000Z' },
      ...fresh.getLogs(),
    ];
    expect(TaskLogCollector.summarize(stored)).toEqual({ total: 5, by_level: { INFO: 2, ERROR: 1, WARNING: 2 } });
    expect(TaskLogCollector.summarize([])).toEqual({ total: 0, by_level: {} });
  });

  describe.each(DIALECTS)('flushTo on %s', (dialect) => {
    const database = useTestDatabase(dialect);
    let tasks: AgentcoreTask;
    beforeAll(async () => {
      tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, env: {} });
    }, 60_000);
    afterAll(async () => tasks?.close());

    it('merges logs and log_summary into metadata without touching other keys or the status', async () => {
      await tasks.registerTaskExecution({
        taskId: 'logs-1',
        taskName: 't',
        module: 'm',
        initialStatus: 'STARTED',
        metadata: { keep: 1 },
      });
      const logs = new TaskLogCollector();
      logs.info('parsing');
      logs.error('row 3 invalid');
      logs.critical('giving up');
      const row = await logs.flushTo(tasks.tracker, 'logs-1');
      expect(row!.status).toBe('STARTED');
      expect(row!.metadata.keep).toBe(1);
      const expectedSummary = { total: 3, by_level: { INFO: 1, ERROR: 1, CRITICAL: 1 } };
      expect(row!.metadata.log_summary).toEqual(expectedSummary);
      // Read back from the database, as another process (or a front end written for the Django module) sees it.
      const stored = (await tasks.tracker.getTask('logs-1'))!.metadata;
      expect((stored.logs as Array<{ level: string }>).map((l) => l.level)).toEqual(['INFO', 'ERROR', 'CRITICAL']);
      expect(stored.log_summary).toEqual(expectedSummary);
      expect(TaskLogCollector.summarize(stored.logs as Array<{ level: string }>)).toEqual(expectedSummary);
    });
  });
});
