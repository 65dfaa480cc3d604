import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskLogCollector } from '../../src/index.js';

describe('TaskLogCollector', () => {
  let tasks: AgentcoreTask;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, env: {} });
  });
  afterAll(async () => tasks?.close());

  it('keeps the newest maxRecords entries and summarizes them by level', () => {
    const logs = new TaskLogCollector({ maxRecords: 3 });
    logs.debug('d');
    logs.info('i');
    logs.warning('w');
    logs.error('e', new RangeError('boom'));
    expect(logs.getLogs().map((l) => l.message)).toEqual(['i', 'w', 'e']);
    expect(logs.getWarningsAndErrors().map((l) => l.level)).toEqual(['warning', 'error']);
    expect(logs.getSummary()).toEqual({ total: 3, by_level: { debug: 0, info: 1, warning: 1, error: 1 } });
    const last = logs.getLogs()[2];
    expect(last.exception).toMatchObject({ name: 'RangeError', message: 'boom' });
    expect(Date.parse(last.timestamp)).not.toBeNaN();
    logs.clear();
    expect(logs.getLogs()).toEqual([]);
    expect(new TaskLogCollector().maxRecords).toBe(1000);
  });

  it('flushTo merges logs and log_summary into metadata without touching other keys or the status', async () => {
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
    const row = await logs.flushTo(tasks.tracker, 'logs-1');
    expect(row!.status).toBe('STARTED');
    expect(row!.metadata.keep).toBe(1);
    expect((row!.metadata.logs as unknown[]).length).toBe(2);
    expect(row!.metadata.log_summary).toEqual({ total: 2, by_level: { debug: 0, info: 1, warning: 0, error: 1 } });
  });
});
