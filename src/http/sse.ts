/**
 * Server-sent events, written by hand so the stream's lifetime, heartbeat and back-pressure are ours (as Hono's
 * `helper/streaming/sse.ts`: CR/LF rejected in `event` and `id`, multi-line data split, `text/event-stream` +
 * `no-cache`, closed in `finally`).
 */

/** One event. */
export interface SseMessage {
  event?: string;
  data: string;
  id?: string;
  /** Reconnection delay the client should use, in milliseconds. */
  retry?: number;
}

/** The wire text of one event. Throws when `event` or `id` contains CR or LF (it would forge fields). */
export function formatSse(message: SseMessage): string {
  for (const key of ['event', 'id'] as const) {
    const value = message[key];
    if (value !== undefined && /[\r\n]/.test(value)) throw new Error(`SSE ${key} must not contain "\\r" or "\\n"`);
  }
  let out = '';
  if (message.event) out += `event: ${message.event}\n`;
  for (const line of message.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  if (message.id !== undefined) out += `id: ${message.id}\n`;
  if (message.retry !== undefined) out += `retry: ${Math.max(0, Math.floor(message.retry))}\n`;
  return `${out}\n`;
}

/** A comment line (ignored by clients; keeps proxies from closing an idle connection). */
export function formatComment(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => `: ${line}\n`)
    .join('')
    .concat('\n');
}

/** Response headers of an event stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // nginx buffers proxied responses unless told not to, which would hold events back.
  'x-accel-buffering': 'no',
});

/** Chunks a slow client may leave unread before the stream is closed (it reconnects and resumes). */
export const DEFAULT_MAX_QUEUED_CHUNKS = 1000;

/**
 * One open event stream: `response` to return, `send`/`comment` to write, `close` to end it. `onClose` runs once,
 * whether the server closes it, the client goes away, or the client is too slow.
 */
export class SseStream {
  readonly response: Response;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private readonly encoder = new TextEncoder();
  private readonly closeHandlers: Array<() => void> = [];
  private done = false;

  constructor(
    signal: AbortSignal | undefined,
    private readonly maxQueued = DEFAULT_MAX_QUEUED_CHUNKS,
  ) {
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        cancel: () => this.finish(),
      },
      new CountQueuingStrategy({ highWaterMark: 1 }),
    );
    signal?.addEventListener('abort', () => this.close(), { once: true });
    this.response = new Response(body, { status: 200, headers: SSE_HEADERS });
  }

  get closed(): boolean {
    return this.done;
  }

  /** Writes an event; `false` when the stream is closed. */
  send(message: SseMessage): boolean {
    return this.write(formatSse(message));
  }

  comment(text: string): boolean {
    return this.write(formatComment(text));
  }

  /** Runs `fn` once when the stream ends. */
  onClose(fn: () => void): void {
    if (this.done) fn();
    else this.closeHandlers.push(fn);
  }

  close(): void {
    if (this.done) return;
    try {
      this.controller?.close();
    } catch {
      // already errored or cancelled
    }
    this.finish();
  }

  private write(text: string): boolean {
    if (this.done || !this.controller) return false;
    // A client that reads nothing must not make the server buffer without bound.
    if ((this.controller.desiredSize ?? 0) < -this.maxQueued) {
      this.close();
      return false;
    }
    try {
      this.controller.enqueue(this.encoder.encode(text));
      return true;
    } catch {
      this.finish();
      return false;
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    for (const fn of this.closeHandlers.splice(0)) {
      try {
        fn();
      } catch {
        // a close handler's failure must not stop the others
      }
    }
  }
}
