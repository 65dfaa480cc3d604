import { ValidationError } from './errors.js';

/**
 * The one boundary every value the library stores goes through. Two jobs:
 *
 * 1. **Any JS value becomes JSON**, without throwing: `Date` → ISO string, `BigInt` → string, `Map` → object,
 *    `Set` → array, `Error` → `{ name, message, stack }`, `undefined`/functions/symbols dropped, `NaN`/`Infinity` →
 *    null, `Buffer`/typed arrays → base64 string.
 * 2. **Every database takes it the same way.** PostgreSQL refuses NUL in `text` and `jsonb` and unpaired UTF-16
 *    surrogates in `jsonb`; MariaDB refuses lone surrogates in JSON and nesting deeper than 32 levels; a NUL in a
 *    metadata key breaks JSON paths on MariaDB and SQLite. So NUL and lone surrogates become U+FFFD in every string,
 *    keys included (`cleanText`), and what cannot be stored faithfully becomes a marker
 *    `{ "_truncated": true, "reason": … }`: `depth` (nested deeper than `MAX_JSON_DEPTH`), `cycle` (a value that
 *    contains itself), `unreadable` (a getter, `toJSON`, Proxy trap or `toString` threw while it was read).
 */
export function toJsonSafe(value: unknown, onMarker?: (reason: ValueMarker['reason']) => void): unknown {
  return convert(value, new WeakSet(), 0, onMarker);
}

/**
 * How deep a stored JSON value may nest (arrays and objects, the value itself being level 1). Deeper parts become
 * `{ "_truncated": true, "reason": "depth" }`. Below MariaDB's limit of 32 with room for the levels the record adds
 * around a value (the metadata object, the log list).
 */
export const MAX_JSON_DEPTH = 20;

/** Marker stored instead of a payload larger than `maxPayloadBytes`. */
export interface TruncatedPayload {
  _truncated: true;
  bytes: number;
}

/** Marker stored instead of a part of a value that cannot be stored faithfully (see `toJsonSafe`). */
export interface ValueMarker {
  _truncated: true;
  reason: 'depth' | 'cycle' | 'unreadable';
}

/** Default `maxPayloadBytes`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** What `serializePayload` tells its caller about the value it stored. */
export interface PayloadReport {
  /** The serialization was larger than the limit: a `TruncatedPayload` was stored. */
  onTruncate?(bytes: number): void;
  /** A part of the value was replaced by a `ValueMarker` (once per reason). */
  onMarker?(reason: ValueMarker['reason']): void;
}

/**
 * Makes `value` JSON-safe and serializes it. A serialization larger than `maxBytes` is replaced by
 * `{ "_truncated": true, "bytes": N }`; `report` hears of that and of any marker (the caller logs a warning naming the
 * field). Never throws.
 */
export function serializePayload(
  value: unknown,
  maxBytes: number,
  report?: PayloadReport | ((bytes: number) => void),
): { value: unknown; json: string } {
  const { onTruncate, onMarker } =
    typeof report === 'function' ? { onTruncate: report, onMarker: undefined } : (report ?? {});
  let reported: Set<string> | undefined;
  const safe = toJsonSafe(
    value,
    onMarker &&
      ((reason) => {
        reported ??= new Set();
        if (reported.has(reason)) return;
        reported.add(reason);
        onMarker(reason);
      }),
  );
  const json = JSON.stringify(safe === undefined ? null : safe);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    onTruncate?.(bytes);
    const marker: TruncatedPayload = { _truncated: true, bytes };
    return { value: marker, json: JSON.stringify(marker) };
  }
  return { value: safe === undefined ? null : safe, json };
}

// NUL, or a UTF-16 surrogate (paired or not: the slow path below keeps pairs).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point.
const MAYBE_UNSTORABLE = /[\u0000\ud800-\udfff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The replacement character every dialect stores for NUL and lone surrogates. */
export const REPLACEMENT_CHARACTER = '\ufffd';

/** `text` with NUL and unpaired surrogates replaced by U+FFFD: storable the same way by every database. */
export function cleanText(text: string): string {
  return MAYBE_UNSTORABLE.test(text) ? text.replace(UNSTORABLE, REPLACEMENT_CHARACTER) : text;
}

/** `true` when `text` holds NUL or an unpaired surrogate (what `cleanText` would change). */
export function hasUnstorableText(text: string): boolean {
  return MAYBE_UNSTORABLE.test(text) && cleanText(text) !== text;
}

/**
 * An identifier the record is looked up by (`taskId`, `queueName`, `createdBy.id`): a non-empty string of at most 255
 * characters that every database stores exactly as given, so NUL and lone surrogates are refused rather than replaced
 * (two ids must never become one). Used by the tracker and by import.
 */
export function checkIdentifier(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value === '' || value.length > 255)
    throw new ValidationError(`${field} must be a non-empty string of at most 255 characters`, field);
  if (hasUnstorableText(value))
    throw new ValidationError(`${field} must not contain NUL or unpaired surrogate characters`, field);
}

/**
 * `text` cut to at most `max` UTF-16 units, never in the middle of a surrogate pair, then cleaned. For columns with a
 * length limit (usernames).
 */
export function clipText(text: string, max: number): string {
  let cut = text.length > max ? text.slice(0, max) : text;
  const last = cut.charCodeAt(cut.length - 1);
  if (cut.length < text.length && last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cleanText(cut);
}

/**
 * Any value as stored text (error messages, tracebacks, ids), never throwing: a value whose `toString` throws becomes
 * `"[unreadable]"`.
 */
export function toText(value: unknown): string {
  try {
    return cleanText(typeof value === 'string' ? value : String(value));
  } catch {
    return '[unreadable]';
  }
}

type OnMarker = ((reason: ValueMarker['reason']) => void) | undefined;

function marker(reason: ValueMarker['reason'], onMarker: OnMarker): ValueMarker {
  onMarker?.(reason);
  return { _truncated: true, reason };
}

function convert(value: unknown, seen: WeakSet<object>, depth: number, onMarker: OnMarker): unknown {
  switch (typeof value) {
    case 'string':
      return cleanText(value);
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  let added = false;
  try {
    // A Proxy can throw from any of these traps (getPrototypeOf, ownKeys, get): the whole value is unreadable then.
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
    if (Buffer.isBuffer(obj)) return obj.toString('base64');
    if (ArrayBuffer.isView(obj)) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64');
    if (obj instanceof ArrayBuffer) return Buffer.from(obj).toString('base64');
    if (seen.has(obj)) return marker('cycle', onMarker);
    if (depth >= MAX_JSON_DEPTH) return marker('depth', onMarker);
    seen.add(obj);
    added = true;
    const next = depth + 1;
    if (Array.isArray(obj)) {
      const out = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) out[i] = convert(obj[i], seen, next, onMarker) ?? null;
      return out;
    }
    if (obj instanceof Set) return [...obj].map((item) => convert(item, seen, next, onMarker) ?? null);
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) {
        const converted = convert(v, seen, next, onMarker);
        if (converted !== undefined) out[toText(k)] = converted;
      }
      return out;
    }
    if (obj instanceof Error) {
      const out: Record<string, unknown> = {
        name: toText(obj.name),
        message: toText(obj.message),
        stack: obj.stack == null ? null : toText(obj.stack),
      };
      copyOwn(obj, out, seen, next, onMarker);
      return out;
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(obj);
      if (replaced !== obj) return convert(replaced, seen, depth, onMarker);
    }
    const out: Record<string, unknown> = {};
    copyOwn(obj, out, seen, next, onMarker);
    return out;
  } catch {
    return marker('unreadable', onMarker);
  } finally {
    // Only ancestors count as a cycle: the same object twice in siblings is stored twice.
    if (added) seen.delete(obj);
  }
}

function copyOwn(
  obj: object,
  out: Record<string, unknown>,
  seen: WeakSet<object>,
  depth: number,
  onMarker: OnMarker,
): void {
  for (const key of Object.keys(obj)) {
    let v: unknown;
    try {
      v = (obj as Record<string, unknown>)[key];
    } catch {
      out[cleanText(key)] = marker('unreadable', onMarker);
      continue;
    }
    const converted = convert(v, seen, depth, onMarker);
    if (converted !== undefined) out[cleanText(key)] = converted;
  }
}

/** `true` for a plain object (not an array, class instance with special meaning, or null). Never throws. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  try {
    const proto = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
  } catch {
    return false;
  }
}
