/**
 * Node `IncomingMessage`/`ServerResponse` ↔ Web `Request`/`Response`, for the Express and Fastify mounts. Uses only
 * `node:` modules, so neither framework is loaded by this package.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

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
 *
 * A request without a body (`GET`, `HEAD`: every read, stream and dashboard request) gets a light `Request`: an
 * object whose prototype is `Request.prototype`, answering `method`, `url`, `headers` (built on first use) and
 * `signal` itself, and building the full `Request` only when anything else is asked for. Building a `Request` with
 * its headers and signal for every read costs more than the rest of the conversion together.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, init: WebRequestInit): Request {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = (req.method ?? 'GET').toUpperCase();
  if (BODYLESS.has(method)) return lightRequest(req, method, init.url, controller.signal);
  const headers = headersOf(req);
  const requestInit: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  // A parser's body counts only when it really read the stream: Express 4's body-parser sets `req.body = {}` even for a
  // content type it skipped (a text/plain PATCH must still reach the API as sent, to be refused with 415).
  const consumed = req.readableEnded || (req as { _body?: unknown })._body === true;
  const body = consumed ? init.parsedBody : undefined;
  if (body !== undefined && body !== null) {
    if (typeof body === 'string') requestInit.body = body;
    else if (body instanceof Uint8Array) requestInit.body = body as Uint8Array<ArrayBuffer>;
    else {
      requestInit.body = JSON.stringify(body);
      headers.set('content-type', 'application/json');
      headers.delete('content-length');
    }
  } else if (body === undefined && !req.readableEnded) {
    requestInit.body = bodyStream(req);
    requestInit.duplex = 'half'; // required by fetch for a streamed request body
  }
  return new Request(init.url, requestInit);
}

/**
 * The body of a Node request as a Web stream, pulled with backpressure. Unlike `Readable.toWeb`, cancelling it (or
 * leaving it unread, as a 413 does) only stops reading: destroying the request would destroy the socket, and the client
 * would get a reset instead of the answer.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let stop = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const onData = (chunk: Buffer | string) => {
          controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        };
        const onEnd = () => {
          stop();
          controller.close();
        };
        const onError = (error: Error) => {
          stop();
          controller.error(error);
        };
        // Closed before `end`: the client went away mid-body.
        const onClose = () => {
          if (!req.complete) onError(new Error('request aborted'));
        };
        stop = () => {
          req.off('data', onData);
          req.off('end', onEnd);
          req.off('error', onError);
          req.off('close', onClose);
          req.pause();
        };
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', onError);
        req.once('close', onClose);
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        stop();
      },
    },
    { highWaterMark: 16 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** A Node request's headers as Web `Headers` (HTTP/2 pseudo-headers left out). */
function headersOf(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue; // HTTP/2 pseudo-headers are not headers
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}

const kNode = Symbol('node request');
const kMethod = Symbol('method');
const kUrl = Symbol('url');
const kSignal = Symbol('signal');
const kHeaders = Symbol('headers');
const kFull = Symbol('full request');

interface LightRequest {
  [kNode]: IncomingMessage;
  [kMethod]: string;
  [kUrl]: string;
  [kSignal]: AbortSignal;
  [kHeaders]?: Headers;
  [kFull]?: Request;
}

/** The full `Request` behind a light one, built once on first need. */
function fullRequest(light: LightRequest): Request {
  light[kFull] ??= new Request(light[kUrl], {
    method: light[kMethod],
    headers: (light as unknown as Request).headers,
    signal: light[kSignal],
  });
  return light[kFull];
}

const lightPrototype: object = Object.defineProperties(
  {},
  {
    method: {
      get(this: LightRequest) {
        return this[kMethod];
      },
    },
    url: {
      get(this: LightRequest) {
        return this[kUrl];
      },
    },
    signal: {
      get(this: LightRequest) {
        return this[kSignal];
      },
    },
    headers: {
      get(this: LightRequest) {
        this[kHeaders] ??= headersOf(this[kNode]);
        return this[kHeaders];
      },
    },
  },
);
// Everything else a `Request` has is answered by the full request.
for (const key of Object.getOwnPropertyNames(Request.prototype)) {
  if (key === 'constructor' || Object.hasOwn(lightPrototype, key)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key);
  if (typeof descriptor?.value === 'function') {
    Object.defineProperty(lightPrototype, key, {
      value(this: LightRequest, ...args: unknown[]) {
        const full = fullRequest(this) as unknown as Record<string, (...a: unknown[]) => unknown>;
        return full[key](...args);
      },
    });
  } else if (descriptor?.get) {
    Object.defineProperty(lightPrototype, key, {
      get(this: LightRequest) {
        return (fullRequest(this) as unknown as Record<string, unknown>)[key];
      },
    });
  }
}
Object.setPrototypeOf(lightPrototype, Request.prototype);

function lightRequest(req: IncomingMessage, method: string, url: string, signal: AbortSignal): Request {
  const light: LightRequest = Object.create(lightPrototype);
  light[kNode] = req;
  light[kMethod] = method;
  light[kUrl] = url;
  light[kSignal] = signal;
  return light as unknown as Request;
}

/** The absolute URL of a Node request: `protocol://host` + `path` (the full path, mount prefix included). */
export function absoluteUrl(req: IncomingMessage, path: string, protocol?: string, host?: string): string {
  const scheme = protocol ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  return `${scheme}://${host ?? req.headers.host ?? 'localhost'}${path}`;
}

/**
 * `scheme://address:port` of the local end of the connection: the server's own address, which the client cannot
 * choose (unlike `Host`).
 */
export function localOrigin(req: IncomingMessage): string | undefined {
  const { localAddress, localPort } = req.socket;
  if (!localAddress || !localPort) return undefined;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const v4 = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : localAddress;
  const host = v4.includes(':') ? `[${v4}]` : v4;
  return `${scheme}://${host}:${localPort}`;
}

/**
 * A response whose body is a string already (the API's JSON), for the Node mounts: they write it with one call, where
 * a Web `Response` would wrap the string in a stream only for the mount to read it back out.
 */
export class BufferedResponse {
  constructor(
    readonly text: string,
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
  ) {}
}

/**
 * Writes a Web `Response` (or a `BufferedResponse`) to a Node response: status, headers (each `Set-Cookie`
 * separately) and the body. A server-sent event stream is streamed chunk by chunk with backpressure, and a client
 * that goes away cancels it; any other body (JSON, a dashboard asset) is sent whole in one write with its
 * `content-length`, rather than chunk-encoded over several writes.
 */
export async function sendWebResponse(response: Response | BufferedResponse, res: ServerResponse): Promise<void> {
  if (response instanceof BufferedResponse) {
    res.writeHead(response.status, {
      ...response.headers,
      'content-length': Buffer.byteLength(response.text),
    });
    res.end(response.text);
    return;
  }
  res.statusCode = response.status;
  let streaming = false;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
    if (name === 'content-type' && value.startsWith('text/event-stream')) streaming = true;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body) {
    res.end();
    return;
  }
  if (!streaming) {
    try {
      const body = Buffer.from(await response.arrayBuffer());
      res.setHeader('content-length', body.length);
      res.end(body);
    } catch (error) {
      res.destroy(error as Error);
    }
    return;
  }
  const reader = response.body.getReader();
  const cancel = () => {
    reader.cancel().catch(() => {});
  };
  res.once('close', cancel);
  res.flushHeaders();
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
