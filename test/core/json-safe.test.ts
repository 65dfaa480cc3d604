import { describe, expect, it } from 'vitest';
import { serializePayload, toJsonSafe } from '../../src/index.js';

describe('toJsonSafe', () => {
  it('converts every value of the SPEC list', () => {
    const circular: any = { a: [1] };
    circular.a.push(circular);
    const shared = { x: 1 };
    expect(
      toJsonSafe({
        date: new Date('2026-01-01T00:00:00Z'),
        bad: new Date('nope'),
        big: 12n,
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['s', new Set([1])],
        ]),
        set: new Set(['a']),
        err: Object.assign(new Error('x'), { code: 'E1' }),
        undef: undefined,
        fn() {},
        sym: Symbol('s'),
        nan: Number.NaN,
        inf: -Infinity,
        circular,
        twice: [shared, shared],
        buf: Buffer.from([255]),
        f32: new Float32Array([1]),
      }),
    ).toEqual({
      date: '2026-01-01T00:00:00.000Z',
      bad: null,
      big: '12',
      map: { 1: 'one', s: [1] },
      set: ['a'],
      err: { name: 'Error', message: 'x', stack: expect.stringContaining('Error: x'), code: 'E1' },
      nan: null,
      inf: null,
      circular: { a: [1, '[Circular]'] },
      twice: [{ x: 1 }, { x: 1 }],
      buf: '/w==',
      f32: 'AACAPw==',
    });
  });

  it('survives throwing getters and toJSON', () => {
    const evil = {
      get boom() {
        throw new Error('getter');
      },
      ok: 1,
    };
    const badToJson = {
      toJSON: () => {
        throw new Error('nope');
      },
    };
    expect(toJsonSafe({ evil, badToJson })).toEqual({ evil: { ok: 1 }, badToJson: '[Unserializable]' });
  });

  it('replaces a payload over the limit with a marker and reports its size', () => {
    let reported = 0;
    const out = serializePayload({ s: 'é'.repeat(100) }, 50, (b) => {
      reported = b;
    });
    expect(out.value).toEqual({ _truncated: true, bytes: 208 });
    expect(reported).toBe(208);
    expect(serializePayload(undefined, 50).json).toBe('null');
  });
});
