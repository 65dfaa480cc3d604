/**
 * Reading a JSON request body safely: only `application/json` (415 otherwise), at most a set number of bytes (413,
 * whether the size is announced by `Content-Length` or found while reading a chunked body), and a client that goes
 * away mid-upload reported as such, not as a server fault.
 */
import { ValidationError } from '../errors.js';
import { HttpRequestError, RequestAbortedError } from './errors.js';

/** Handler options about request bodies. */
export interface BodyOptions {
  /** Largest request body read, in bytes; a larger one is answered 413 and not read further. @defaultValue 1 MiB */
  maxBodyBytes?: number;
}

/** Every default of the body options, in one place. */
export const BODY_DEFAULTS = Object.freeze({ maxBodyBytes: 1024 * 1024 });

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** 413 with `Connection: close`: the rest of the body is not read, so the connection cannot carry another request. */
function tooLarge(limit: number): HttpRequestError {
  return new HttpRequestError(413, `The request body is larger than ${limit} bytes.`, { connection: 'close' });
}

/**
 * The body of `request` parsed as JSON. Throws `HttpRequestError` 415 (not JSON by its `Content-Type`) or 413 (over
 * `maxBytes`), `ValidationError` (empty or malformed JSON, field `body`), `RequestAbortedError` (client gone).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!JSON_TYPE.test(type))
    throw new HttpRequestError(415, 'The request body must be JSON (Content-Type: application/json).');
  const announced = request.headers.get('content-length');
  if (announced !== null && /^\d+$/.test(announced) && Number(announced) > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readLimited(request, maxBytes);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.trim() === '') throw new ValidationError('body must be a JSON object', 'body');
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('body is not valid JSON', 'body');
  }
}

/** Reads at most `maxBytes` of the body; past that it stops reading (413) rather than buffering the rest. */
async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        throw new RequestAbortedError({ cause: error });
      }
      if (result.done) break;
      total += result.value.byteLength;
      // Not cancelled: on Node, cancelling the body destroys the socket, and the client would never see the 413.
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(result.value);
    }
  } finally {
    reader.releaseLock();
  }
  if (request.signal?.aborted) throw new RequestAbortedError();
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
