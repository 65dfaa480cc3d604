import { describe, expect, it } from 'vitest';
import { cleanText, MAX_JSON_DEPTH, serializePayload, toJsonSafe } from '../../src/index.js';
import { clipText } from '../../src/json-safe.js';

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
      circular: { a: [1, { _truncated: true, reason: 'cycle' }] },
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
    expect(toJsonSafe({ evil, badToJson })).toEqual({
      evil: { boom: { _truncated: true, reason: 'unreadable' }, ok: 1 },
      badToJson: { _truncated: true, reason: 'unreadable' },
    });
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

  it('replaces NUL and lone surrogates with U+FFFD in values and keys, keeping valid pairs', () => {
    expect(cleanText('a\u0000b')).toBe('a\ufffdb');
    expect(cleanText('x\ud800y')).toBe('x\ufffdy');
    expect(cleanText('\udc00')).toBe('\ufffd');
    expect(cleanText('\ud83d\ude00 ok')).toBe('\ud83d\ude00 ok');
    expect(cleanText('\ud83d\ude00\ud83d')).toBe('\ud83d\ude00\ufffd');
    expect(toJsonSafe({ 'k\u0000': ['v\ud800'], m: new Map([['\udfff', 1]]) })).toEqual({
      'k\ufffd': ['v\ufffd'],
      m: { '\ufffd': 1 },
    });
    expect(clipText('ab\ud83d\ude00', 3)).toBe('ab');
  });

  it('stores a marker past the depth limit, for cycles and for Proxies that throw, and reports each reason', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 5000; i++) deep = { d: deep };
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    const reasons: string[] = [];
    const { value } = serializePayload({ deep, hostile }, 1 << 20, { onMarker: (r) => reasons.push(r) });
    let node = (value as { deep: unknown }).deep;
    let levels = 1;
    while ((node as { d?: unknown }).d !== undefined) {
      node = (node as { d: unknown }).d;
      levels++;
    }
    expect(node).toEqual({ _truncated: true, reason: 'depth' });
    expect(levels).toBe(MAX_JSON_DEPTH);
    expect((value as { hostile: unknown }).hostile).toEqual({ _truncated: true, reason: 'unreadable' });
    expect(reasons.sort()).toEqual(['depth', 'unreadable']);
  });
});
