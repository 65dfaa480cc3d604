import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentcoreTask,
  cleanText,
  createAgentcoreTask,
  silentLogger,
  TaskStatus,
  toJsonSafe,
  ValidationError,
} from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

let seq = 0;
const id = (label: string) => `${label}-${Date.now().toString(36)}-${++seq}`;

/** Strings a job really produces, and worse: NUL, lone surrogates, emoji, quotes and backslashes, JSON-path syntax. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '"', '\\', '.', '$', '*', ' ', 'a', 'é'),
  }),
  fc.constantFrom('', '\u0000', '\ud800', 'x\u0000y', '$."a"', 'a.b', '[0]', '__proto__', 'constructor'),
);

/** Values nested at random depths (past the documented limit too), with odd objects among the leaves. */
const leaf = fc.oneof(
  nasty,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.constant('hostile-proxy'),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(nasty, tie('tree'), { maxKeys: 4 }),
  ),
}));

/** Turns the marker leaf into a Proxy whose traps throw, and sometimes wraps a value in a deep chain or a cycle. */
function materialize(value: unknown, extraDepth: number, cycle: boolean): unknown {
  const swap = (v: unknown): unknown => {
    if (v === 'hostile-proxy')
      return new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('ownKeys trap');
          },
        },
      );
    if (Array.isArray(v)) return v.map(swap);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const out: Record<string, unknown> = {};
      // defineProperty: a `__proto__` key stays an own key, as JSON.parse makes it.
      for (const [k, x] of Object.entries(v))
        Object.defineProperty(out, k, { value: swap(x), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return v;
  };
  let out = swap(value);
  for (let i = 0; i < extraDepth; i++) out = [out];
  if (cycle) {
    const holder: Record<string, unknown> = { value: out };
    holder.self = holder;
    return holder;
  }
  return out;
}

/** What the store gives back for a value: its JSON-safe form after a JSON round trip. */
const stored = (value: unknown) => JSON.parse(JSON.stringify(toJsonSafe(value) ?? null));

describe.each(DIALECTS)('hostile input on %s', (dialect) => {
  const database = useTestDatabase(dialect);
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, onRecordError: 'throw' });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('lands every register, progress and final status, and reads back what was normalized', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          taskName: nasty.filter((s) => s !== '' && s.length <= 255),
          module: nasty.filter((s) => s.length <= 100),
          args: fc.array(tree, { maxLength: 3 }),
          kwargs: fc.dictionary(nasty, tree, { maxKeys: 3 }),
          metadata: fc.dictionary(nasty, tree, { maxKeys: 3 }),
          progress: fc.record({ message: nasty, extra: fc.dictionary(nasty, tree, { maxKeys: 2 }) }),
          result: tree,
          error: nasty,
          traceback: nasty,
          username: nasty,
          final: fc.constantFrom(TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.REVOKED),
          extraDepth: fc.constantFrom(0, 0, 40, 3000),
          cycle: fc.boolean(),
          together: fc.boolean(),
        }),
        async (input) => {
          const taskId = id('hostile');
          const result = materialize(input.result, input.extraDepth, input.cycle);
          const registered = await tasks.registerTaskExecution({
            taskId,
            taskName: input.taskName,
            module: input.module,
            taskArgs: materialize(input.args, 0, false) as unknown[],
            taskKwargs: materialize(input.kwargs, 0, false) as Record<string, unknown>,
            metadata: materialize(input.metadata, 0, false) as Record<string, unknown>,
            createdBy: { id: 1, username: input.username },
          });
          expect(registered?.taskName).toBe(cleanText(input.taskName));
          const progress = tasks.tracker.reportProgress(taskId, {
            percent: 50,
            message: input.progress.message,
            ...(materialize(input.progress.extra, 0, false) as Record<string, unknown>),
          });
          // Progress and the final status in the same tick (folded on PostgreSQL's group commit) or one after the other.
          if (!input.together) await progress;
          const final = tasks.tracker.updateTaskStatus(taskId, input.final, {
            result,
            error: input.error,
            traceback: input.traceback,
          });
          await Promise.all([progress, final]);
          const row = await tasks.tracker.getTask(taskId);
          expect(row?.status).toBe(input.final);
          expect(row?.error).toBe(cleanText(input.error));
          expect(row?.traceback).toBe(cleanText(input.traceback));
          expect(row?.result).toEqual(stored(result));
          expect(row?.taskArgs).toEqual(stored(materialize(input.args, 0, false)));
          expect(row?.createdByUsername).toBe(cleanText(input.username).slice(0, 150));
          expect(row?.metadata.progress_message).toEqual(cleanText(input.progress.message));
          // Keys that differ only by what was cleaned become one key; the later one wins, as in Object.assign.
          const expected: Record<string, unknown> = Object.create(null);
          for (const [k, v] of Object.entries(input.metadata)) if (v !== undefined) expected[cleanText(k)] = v;
          for (const k of Object.keys(input.progress.extra)) delete expected[cleanText(k)];
          delete expected.progress_message;
          delete expected.progress_percent;
          for (const [k, v] of Object.entries(expected))
            expect(row?.metadata[k]).toEqual(stored(materialize(v, 0, false)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a taskId, queueName or creator id holding NUL or a lone surrogate, naming the field, and writes nothing', async () => {
    for (const bad of ['a\u0000b', 'x\ud800', '\udc00y']) {
      await expect(tasks.registerTaskExecution({ taskId: bad, taskName: 't', module: 'm' })).rejects.toMatchObject({
        name: 'ValidationError',
        field: 'taskId',
      });
      await expect(tasks.tracker.updateTaskStatus(bad, TaskStatus.SUCCESS)).rejects.toBeInstanceOf(ValidationError);
      const taskId = id('idents');
      await expect(
        tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', queueName: bad }),
      ).rejects.toMatchObject({ field: 'queueName' });
      await expect(
        tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', createdBy: { id: bad } }),
      ).rejects.toMatchObject({ field: 'createdBy.id' });
      expect(await tasks.tracker.getTask(taskId)).toBeNull();
    }
  });

  it('refuses creator ids that are not a finite number or a non-empty string, and queue names over 255', async () => {
    const taskId = id('creator');
    for (const bad of [{}, Number.NaN, Number.POSITIVE_INFINITY, '', [], true]) {
      await expect(
        tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', createdBy: { id: bad as never } }),
      ).rejects.toMatchObject({ name: 'ValidationError', field: 'createdBy.id' });
    }
    await expect(
      tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', queueName: 'q'.repeat(256) }),
    ).rejects.toMatchObject({ field: 'queueName' });
    expect(await tasks.tracker.getTask(taskId)).toBeNull();
    const ok = await tasks.registerTaskExecution({ taskId, taskName: 't', module: 'm', queueName: 'q'.repeat(255) });
    expect(ok?.queueName).toBe('q'.repeat(255));
  });
});
