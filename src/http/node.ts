/**
 * Node `IncomingMessage`/`ServerResponse` ↔ Web `Request`/`Response`, for the Express and Fastify mounts. Uses only
 * `node:` modules, so neither framework is loaded by this package.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

const BODYLESS = new Set(['GET', 'HEAD']);

/** What the mount knows about the request beyond the Node object. */
export interface WebRequestInit {
  /** The absolute URL of the request as the client sent it (mount prefix included). */
  url: string;
  /**
   * The body when the framework already consumed the stream (`express.json()`, Fastify's parsers): a Buffer or
   * string is passed on as is, anything else as JSON. `undefined`: read the body from the stream.
   */
  parsedBody?: unknown;
}

/**
 * A Web `Request` for a Node request: method, headers (cookies included), body, and a `signal` that aborts when the
 * client goes away (so a stream can stop).
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, init: WebRequestInit): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not headers
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = (req.method ?? 'GET').toUpperCase();
  const requestInit: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  if (!BODYLESS.has(method)) {
    const body = init.parsedBody;
    if (body !== undefined && body !== null) {
      if (typeof body === 'string') requestInit.body = body;
      else if (body instanceof Uint8Array) requestInit.body = body as Uint8Array<ArrayBuffer>;
      else {
        requestInit.body = JSON.stringify(body);
        headers.set('content-type', 'application/json');
        headers.delete('content-length');
      }
    } else if (body === undefined && !req.readableEnded) {
      requestInit.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
      requestInit.duplex = 'half'; // required by fetch for a streamed request body
    }
  }
  return new Request(init.url, requestInit);
}

/** The absolute URL of a Node request: `protocol://host` + `path` (the full path, mount prefix included). */
export function absoluteUrl(req: IncomingMessage, path: string, protocol?: string, host?: string): string {
  const scheme = protocol ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return `${scheme}://${host ?? req.headers.host ?? 'localhost'}${path}`;
}

/**
 * Writes a Web `Response` to a Node response: status, headers (each `Set-Cookie` separately), and the body streamed
 * chunk by chunk with backpressure, so server-sent events flow. A client that goes away cancels the body.
 */
export async function sendWebResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  res.once('close', cancel);
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) res.flushHeaders();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch (error) {
    res.destroy(error as Error);
  } finally {
    res.off('close', cancel);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
