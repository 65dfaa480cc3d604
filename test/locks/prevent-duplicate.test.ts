import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readLockParam, skippedResult, taskLockName } from '../../src/locks/prevent-duplicate.js';

describe('lock names of preventDuplicateTask', () => {
  it('reads the parameter from a plain object, a plain { data }, or a job instance’s data', () => {
    expect(readLockParam({ userId: 7 }, 'userId')).toBe(7);
    expect(readLockParam({ data: { userId: 8 } }, 'userId')).toBe(8);
    class Job {
      name = 'send';
      id = '42';
      constructor(readonly data: Record<string, unknown>) {}
    }
    // The job's own `name` and `id` do not shadow fields of its data.
    expect(readLockParam(new Job({ name: 'alice', id: 'a1' }), 'name')).toBe('alice');
    expect(readLockParam(new Job({ name: 'alice' }), 'id')).toBeUndefined();
    expect(readLockParam(Object.assign(Object.create(null), { userId: 3 }), 'userId')).toBe(3);
    expect(readLockParam('userId', 'userId')).toBeUndefined();
    expect(readLockParam(undefined, 'userId')).toBeUndefined();
  });

  it('appends the value, keeps falsy-but-present values, and falls back to the bare name when it is missing', () => {
    expect(taskLockName('sync', 7)).toBe('sync_7');
    expect(taskLockName('sync', 0)).toBe('sync_0');
    expect(taskLockName('sync', false)).toBe('sync_false');
    expect(taskLockName('sync', { a: 1 })).toBe('sync_{"a":1}');
    expect(taskLockName('sync', new Date('2026-01-02T03:04:05Z'))).toBe('sync_2026-01-02T03:04:05.000Z');
    expect(taskLockName('sync', undefined)).toBe('sync');
    expect(taskLockName('sync', null)).toBe('sync');
    expect(taskLockName('sync', '')).toBe('sync');
  });

  it('keeps a 200-character value and hashes a 201-character one to 16 hex characters of MD5', () => {
    const exact = 'a'.repeat(200);
    expect(taskLockName('q', exact)).toBe(`q_${exact}`);
    const long = `${exact}b`;
    expect(taskLockName('q', long)).toBe(`q_${createHash('md5').update(long).digest('hex').slice(0, 16)}`);
    expect(taskLockName('q', long)).toMatch(/^q_[0-9a-f]{16}$/);
  });

  it('hashes a value no database could store as given (NUL, lone surrogate), and survives values JSON cannot hold', () => {
    expect(taskLockName('q', 'a\u0000b')).toMatch(/^q_[0-9a-f]{16}$/);
    expect(taskLockName('q', 'a\u0000b')).not.toBe(taskLockName('q', 'a\ufffdb'));
    expect(taskLockName('q', 'x\ud800')).toMatch(/^q_[0-9a-f]{16}$/);
    const loop: Record<string, unknown> = { n: 1n };
    loop.self = loop;
    expect(taskLockName('q', loop)).toBe('q_{"n":"1","self":{"_truncated":true,"reason":"cycle"}}');
  });

  it('builds the two skip payloads', () => {
    expect(skippedResult('task_already_running', 'sync_7')).toStrictEqual({
      success: false,
      status: 'skipped',
      reason: 'task_already_running',
      error: 'Task sync_7 is already running',
    });
    expect(skippedResult('lock_acquisition_failed', 'sync_7')).toStrictEqual({
      success: false,
      status: 'skipped',
      reason: 'lock_acquisition_failed',
      error: 'Failed to acquire lock for sync_7',
    });
  });
});
