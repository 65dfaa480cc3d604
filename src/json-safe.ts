/**
 * Turns any JS value into something `JSON.stringify` stores faithfully, without throwing (SPEC section 5):
 * `Date` → ISO string, `BigInt` → string, `Map` → object, `Set` → array, `Error` → `{ name, message, stack }`,
 * `undefined`/functions/symbols dropped, `NaN`/`Infinity` → null, circular references → `"[Circular]"`,
 * `Buffer`/typed arrays → base64 string.
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, new WeakSet());
}

/** Marker stored instead of a payload larger than `maxPayloadBytes`. */
export interface TruncatedPayload {
  _truncated: true;
  bytes: number;
}

/** Default `maxPayloadBytes`: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Makes `value` JSON-safe and serializes it. A serialization larger than `maxBytes` is replaced by
 * `{ "_truncated": true, "bytes": N }` and `onTruncate` is called (the caller logs a warning).
 */
export function serializePayload(
  value: unknown,
  maxBytes: number,
  onTruncate?: (bytes: number) => void,
): { value: unknown; json: string } {
  const safe = toJsonSafe(value);
  const json = JSON.stringify(safe === undefined ? null : safe);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    onTruncate?.(bytes);
    const marker: TruncatedPayload = { _truncated: true, bytes };
    return { value: marker, json: JSON.stringify(marker) };
  }
  return { value: safe === undefined ? null : safe, json };
}

function convert(value: unknown, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case 'string':
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
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (Buffer.isBuffer(obj)) return obj.toString('base64');
  if (ArrayBuffer.isView(obj)) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64');
  if (obj instanceof ArrayBuffer) return Buffer.from(obj).toString('base64');
  if (seen.has(obj)) return '[Circular]';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((item) => convert(item, seen) ?? null);
    if (obj instanceof Set) return [...obj].map((item) => convert(item, seen) ?? null);
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) {
        const converted = convert(v, seen);
        if (converted !== undefined) out[String(k)] = converted;
      }
      return out;
    }
    if (obj instanceof Error) {
      const out: Record<string, unknown> = { name: obj.name, message: obj.message, stack: obj.stack ?? null };
      copyOwn(obj, out, seen);
      return out;
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      let replaced: unknown;
      try {
        replaced = toJSON.call(obj);
      } catch {
        return '[Unserializable]';
      }
      if (replaced !== obj) return convert(replaced, seen);
    }
    const out: Record<string, unknown> = {};
    copyOwn(obj, out, seen);
    return out;
  } finally {
    // Only ancestors count as circular: the same object twice in siblings is stored twice.
    seen.delete(obj);
  }
}

function copyOwn(obj: object, out: Record<string, unknown>, seen: WeakSet<object>): void {
  for (const key of Object.keys(obj)) {
    let v: unknown;
    try {
      v = (obj as Record<string, unknown>)[key];
    } catch {
      continue; // a throwing getter is dropped, never rethrown
    }
    const converted = convert(v, seen);
    if (converted !== undefined) out[key] = converted;
  }
}

/** `true` for a plain object (not an array, class instance with special meaning, or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
