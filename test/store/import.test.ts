/**
 * Bulk import (issue 17): runs written by the tracker, exported in the REST detail wire format, imported into another
 * database come back equal; a second import changes nothing; bad lines are reported by line and field and skipped
 * (or stop the import with `strict`); values go through the same storage boundary as the tracker. On all three
 * databases.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeExecutionDetail } from '../../src/http/serialize.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { importJsonLines, parseImportLine } from '../../src/store/import.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

const open = (url: string) =>
  createAgentcoreTask({ database: url, logger: silentLogger, onRecordError: 'throw', realtime: false, env: {} });

/** A stream of `lines` joined by newlines, cut into small chunks so lines straddle chunk boundaries. */
function input(lines: string[], chunk = 7): Readable {
  const text = `${lines.join('\n')}\n`;
  const chunks: Buffer[] = [];
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  return Readable.from(chunks);
}

/** Every run of `tasks` in the detail wire format, by task id, without the fields a store assigns or derives. */
async function exported(tasks: AgentcoreTask): Promise<Map<string, Record<string, unknown>>> {
  const rows = await tasks.db.selectFrom('agentcore_task_execution').select('id').orderBy('id').execute();
  const out = new Map<string, Record<string, unknown>>();
  for (const { id } of rows) {
    const run = await tasks.tracker.getById(Number(id));
    const { id: _id, duration: _duration, ...wire } = serializeExecutionDetail(run!);
    out.set(run!.taskId, { ...wire, queue_name: run!.queueName });
  }
  return out;
}

async function seed(tasks: AgentcoreTask) {
  const { tracker } = tasks;
  const statuses = TaskStatus.all;
  for (let i = 0; i < 40; i++) {
    const taskId = `imp-${i}`;
    await tasks.registerTaskExecution({
      taskId,
      taskName: `mod_${i % 3}.job_${i % 4}`,
      module: `mod_${i % 3}`,
      taskArgs: [i, 'x', { nested: [1, 2, { deep: true }] }],
      taskKwargs: { n: i, s: `s${i}`, ...(i % 7 === 0 ? { bad: 'nul\u0000here' } : {}) },
      createdBy: i % 4 === 0 ? null : i % 4 === 1 ? { id: i, username: `user${i}` } : { id: `ext-${i}`, username: 'é' },
      metadata: { order: i, tags: ['a', 'b'], 'dotted.key': 'v', ...(i % 5 === 0 ? { 'lone\ud800': 1 } : {}) },
      queueName: i % 6 === 0 ? 'emails' : undefined,
    });
    const status = statuses[i % statuses.length];
    if (status === TaskStatus.PENDING) continue;
    await tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
    if (status === TaskStatus.SUCCESS) await tracker.updateTaskStatus(taskId, status, { result: { ok: i, list: [i] } });
    else if (status === TaskStatus.FAILURE)
      await tracker.updateTaskStatus(taskId, status, {
        error: `boom ${i}`,
        traceback: 'Error: boom\n  at x (y.js:1:2)',
      });
    else if (status !== TaskStatus.STARTED) await tracker.updateTaskStatus(taskId, status);
  }
  // A row created by an update that arrived before registration: empty task name and module.
  await tracker.updateTaskStatus('imp-early', TaskStatus.STARTED, { metadata: { progress_percent: 10 } });
  // A result that is a bare string, and one that is JSON false.
  await tasks.registerTaskExecution({ taskId: 'imp-string', taskName: 't', module: 'm' });
  await tracker.updateTaskStatus('imp-string', TaskStatus.SUCCESS, { result: 'done' });
  await tasks.registerTaskExecution({ taskId: 'imp-false', taskName: 't', module: 'm' });
  await tracker.updateTaskStatus('imp-false', TaskStatus.SUCCESS, { result: false });
}

describe.each(DIALECTS)('import on %s', (dialect) => {
  const source = useTestDatabase(dialect);
  const target = useTestDatabase(dialect);
  let from: AgentcoreTask;
  let to: AgentcoreTask;
  let lines: string[];

  beforeAll(async () => {
    from = await open(source.url);
    to = await open(target.url);
    await seed(from);
    lines = [...(await exported(from)).entries()].map(([taskId, wire]) => {
      const run = { ...wire };
      // Extra wire fields an export carries are ignored.
      if (taskId === 'imp-3') Object.assign(run, { id: 999, duration: 1.5, is_completed: true, created_by: 7 });
      return JSON.stringify(run);
    });
  });
  afterAll(async () => {
    await from?.close();
    await to?.close();
  });

  it('round-trips: runs exported as detail JSON and imported into another database are equal', async () => {
    const summary = await importJsonLines(to.tracker.store, input(lines), { batchSize: 16 });
    expect(summary).toMatchObject({ lines: lines.length, inserted: lines.length, existing: 0, bad: 0 });
    expect(summary.badLines).toEqual([]);
    const a = await exported(from);
    const b = await exported(to);
    expect(b.size).toBe(a.size);
    for (const [taskId, run] of a) expect(b.get(taskId), taskId).toEqual(run);
    // Timestamps the detail format omits: updated_at falls back to the latest of finished/started/created.
    const imported = await to.tracker.getTask('imp-2');
    expect(imported!.updatedAt.getTime()).toBe((imported!.finishedAt ?? imported!.startedAt)!.getTime());
  });

  it('is idempotent on task_id: a second import inserts nothing and changes no row', async () => {
    const before = await exported(to);
    const summary = await importJsonLines(to.tracker.store, input(lines), { batchSize: 1000 });
    expect(summary).toMatchObject({ inserted: 0, existing: lines.length, bad: 0 });
    const after = await exported(to);
    expect(after).toEqual(before);
  });

  it('counts a task_id repeated inside one batch as existing', async () => {
    const run = (n: number) =>
      JSON.stringify({
        task_id: 'dup-1',
        task_name: `n${n}`,
        module: 'm',
        status: 'PENDING',
        created_at: new Date().toISOString(),
      });
    const summary = await importJsonLines(to.tracker.store, input([run(1), run(2), run(3)]));
    expect(summary).toMatchObject({ inserted: 1, existing: 2 });
    expect((await to.tracker.getTask('dup-1'))!.taskName).toBe('n1');
  });

  it('reports each bad line by number and field, skips it, and imports the rest', async () => {
    const ok = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        task_id: id,
        task_name: 'bad.mix',
        module: 'bad',
        status: 'SUCCESS',
        created_at: '2026-01-02T03:04:05Z',
        ...extra,
      });
    const file = [
      ok('bad-ok-1'),
      '{not json',
      ok('bad-2', { status: 'DONE' }),
      '',
      ok('bad-4', { created_at: 'yesterday' }),
      JSON.stringify({ task_name: 'no id', created_at: '2026-01-02T03:04:05Z' }),
      ok('bad-6\u0000nul'),
      ok('bad-7', { task_args: { a: 1 } }),
      ok('bad-8', { created_by_id: { id: 1 } }),
      ok('bad-9', { started_at: 12 }),
      '[1, 2]',
      ok('bad-11', { task_name: 'x'.repeat(256) }),
      ok('bad-ok-12'),
    ];
    const seen: number[] = [];
    const summary = await importJsonLines(to.tracker.store, input(file), { onBadLine: (b) => seen.push(b.line) });
    expect(summary.badLines.map((b) => [b.line, b.field])).toEqual([
      [2, 'line'],
      [3, 'status'],
      [5, 'created_at'],
      [6, 'task_id'],
      [7, 'task_id'],
      [8, 'task_args'],
      [9, 'created_by_id'],
      [10, 'started_at'],
      [11, 'line'],
      [12, 'task_name'],
    ]);
    expect(seen).toEqual(summary.badLines.map((b) => b.line));
    expect(summary).toMatchObject({ lines: 12, inserted: 2, bad: 10 });
    expect(await to.tracker.getTask('bad-ok-1')).not.toBeNull();
    expect(await to.tracker.getTask('bad-ok-12')).not.toBeNull();
    expect(await to.tracker.getTask('bad-2')).toBeNull();
  });

  it('with strict, stops at the first bad line after writing the lines before it', async () => {
    const line = (id: string, status = 'PENDING') =>
      JSON.stringify({ task_id: id, task_name: 't', module: 'm', status, created_at: '2026-01-02T03:04:05Z' });
    const summary = await importJsonLines(
      to.tracker.store,
      input([line('strict-1'), line('strict-2', 'NOPE'), line('strict-3')]),
      {
        strict: true,
      },
    );
    expect(summary.stoppedAt).toMatchObject({ line: 2, field: 'status' });
    expect(summary.inserted).toBe(1);
    expect(await to.tracker.getTask('strict-1')).not.toBeNull();
    expect(await to.tracker.getTask('strict-3')).toBeNull();
  });

  it('stores values through the tracker boundary: text cleaned, payloads made safe and capped', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 30; i++) deep = [deep];
    const line = JSON.stringify({
      task_id: 'boundary-1',
      task_name: 'name\u0000with nul',
      module: 'm\ud800',
      status: 'FAILURE',
      created_at: '2026-05-01T10:00:00.123456+02:00',
      finished_at: '2026-05-01T10:00:01',
      error: 'err\u0000',
      task_kwargs: { big: 'x'.repeat(2000) },
      result: deep,
      metadata: { 'k\u0000': 'v\udc00' },
      created_by_id: 42,
      created_by_username: 'u'.repeat(200),
    });
    const summary = await importJsonLines(to.tracker.store, input([line]), { maxPayloadBytes: 1000 });
    expect(summary.inserted).toBe(1);
    const run = (await to.tracker.getTask('boundary-1'))!;
    expect(run.taskName).toBe('name\ufffdwith nul');
    expect(run.module).toBe('m\ufffd');
    expect(run.error).toBe('err\ufffd');
    expect(run.metadata).toEqual({ 'k\ufffd': 'v\ufffd' });
    expect(run.taskKwargs).toEqual({ _truncated: true, bytes: expect.any(Number) });
    expect(JSON.stringify(run.result)).toContain('"reason":"depth"');
    expect(run.createdById).toBe(42);
    expect(run.createdByUsername).toBe('u'.repeat(150));
    // Sub-millisecond digits and offsets are read as the instant they name (stored to the millisecond).
    expect(run.createdAt.toISOString()).toBe('2026-05-01T08:00:00.123Z');
    expect(run.finishedAt!.toISOString()).toBe('2026-05-01T10:00:01.000Z');
  });
});

describe('parseImportLine', () => {
  it('names the field of a bad value and ignores the derived wire fields', () => {
    const base = { task_id: 'a', created_at: '2026-01-01T00:00:00Z' };
    expect(parseImportLine(JSON.stringify({ ...base, status: 'nope' }), 4)).toMatchObject({ line: 4, field: 'status' });
    expect(parseImportLine(JSON.stringify({ ...base, queue_name: '' }), 1)).toMatchObject({ field: 'queue_name' });
    expect(parseImportLine(JSON.stringify({ ...base, metadata: [] }), 1)).toMatchObject({ field: 'metadata' });
    expect(parseImportLine(JSON.stringify({ ...base, error: 5 }), 1)).toMatchObject({ field: 'error' });
    expect(parseImportLine(JSON.stringify({ ...base, created_by_id: '' }), 1)).toMatchObject({
      field: 'created_by_id',
    });
    const run = parseImportLine(JSON.stringify({ ...base, id: 5, duration: 3, is_running: true, created_by: 9 }), 1);
    expect(run).toMatchObject({ taskId: 'a', status: 'PENDING', createdById: null, taskName: '', argsJson: '[]' });
  });
});
