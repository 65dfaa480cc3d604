import { randomUUID } from 'node:crypto';
import { coerceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type ChangeFeed, type ExecutionChange, MemoryChangeFeed } from './feed.js';

/**
 * What a cross-process feed needs from its backend: send one message to every process, and hand the messages of
 * every process (ours included) to `onMessage`. PostgreSQL NOTIFY and Redis pub/sub both fit.
 */
export interface BroadcastTransport {
  /** Sends one message (at most `maxMessageBytes`). */
  send(message: string): Promise<void>;
  /** Starts receiving; reconnects on its own after a lost connection. */
  listen(onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

export interface BroadcastFeedOptions {
  logger: Logger;
  /** A message never exceeds this (PostgreSQL's NOTIFY payload limit is 8000 bytes). @defaultValue 7500 */
  maxMessageBytes?: number;
  /** Changes waiting while the backend is unreachable beyond this are dropped (oldest first). @defaultValue 10000 */
  maxPending?: number;
  /** A send that takes longer counts as failed, so a hung backend cannot hold `close()`. @defaultValue 5000 */
  sendTimeoutMs?: number;
}

/** Wire shape of one broadcast message: the sender's id and a batch of changes. */
interface Message {
  v: 1;
  o: string;
  c: ExecutionChange[];
}

export const DEFAULT_MAX_MESSAGE_BYTES = 7500;
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_SEND_TIMEOUT_MS = 5000;
const KINDS = new Set(['created', 'updated', 'deleted']);

/**
 * A change feed over a broadcast transport. Local subscribers get a change at once (exactly once: our own echo from
 * the backend is recognised by the sender id and skipped); other processes get it through the transport. Changes
 * published while a send is in flight are coalesced into the next message (one per run id, latest status), so a burst
 * of progress writes costs a few round trips instead of one each, and the write path never waits for the backend.
 */
export class BroadcastChangeFeed implements ChangeFeed {
  /** Identifies this process's messages, so their echo is not delivered twice. */
  readonly origin = randomUUID();
  private readonly local = new MemoryChangeFeed();
  private readonly maxMessageBytes: number;
  private readonly maxPending: number;
  private pending = new Map<number, ExecutionChange>();
  private sending: Promise<void> | undefined;
  private failing = false;
  private closed = false;

  constructor(
    private readonly transport: BroadcastTransport,
    private readonly options: BroadcastFeedOptions,
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** Starts listening. Resolves once the first subscription is in place (or has failed and is being retried). */
  async start(): Promise<void> {
    await this.transport.listen((message) => this.receive(message));
  }

  /** Delivers locally now; resolves once the change has been sent to the other processes (or dropped, logged). */
  publish(change: ExecutionChange): Promise<void> {
    this.local.deliver(change);
    if (this.closed) return Promise.resolve();
    const earlier = this.pending.get(change.id);
    // One entry per run: subscribers read the row anyway, so only the latest status matters; `created` and
    // `deleted` are kept because they tell a list to add or drop the row.
    const kind = change.kind === 'updated' && earlier?.kind === 'created' ? 'created' : change.kind;
    this.pending.delete(change.id);
    this.pending.set(change.id, { ...change, kind });
    if (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    return this.kick();
  }

  subscribe(listener: (change: ExecutionChange) => void): () => void {
    return this.local.subscribe(listener);
  }

  /** Number of local subscribers. */
  get size(): number {
    return this.local.size;
  }

  /** Sends what is pending, then stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
    await this.transport
      .close()
      .catch((error) => this.options.logger.debug({ err: error }, 'agentcore-task: feed close'));
    await this.local.close();
  }

  /** Resolves when every change published so far has been sent (or dropped). */
  async drain(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private kick(): Promise<void> {
    // One send at a time: what arrives meanwhile waits and goes out together in the next message.
    this.sending ??= (async () => {
      await null; // let the current burst of synchronous publishes join the batch
      while (this.pending.size > 0) {
        const batch = [...this.pending.values()];
        this.pending = new Map();
        for (const message of this.pack(batch)) await this.sendOne(message);
      }
      this.sending = undefined;
    })();
    return this.sending;
  }

  private async sendOne(message: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
      await Promise.race([
        this.transport.send(message),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (this.failing) this.options.logger.info({}, 'agentcore-task: change notifications are sent again');
      this.failing = false;
    } catch (error) {
      // Local subscribers already have the change; other processes miss it. Log once per outage, not per change.
      if (!this.failing)
        this.options.logger.warn({ err: coerceError(error) }, 'agentcore-task: change notification failed');
      this.failing = true;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Splits a batch into messages that each stay under the size limit. */
  private pack(changes: ExecutionChange[]): string[] {
    const messages: string[] = [];
    const head = `{"v":1,"o":${JSON.stringify(this.origin)},"c":[`;
    let body: string[] = [];
    let bytes = Buffer.byteLength(head) + 2;
    for (const change of changes) {
      const item = JSON.stringify(change);
      const size = Buffer.byteLength(item) + 1;
      if (size + Buffer.byteLength(head) + 2 > this.maxMessageBytes) {
        this.options.logger.warn({ taskId: change.task_id }, 'agentcore-task: change notification too large; skipped');
        continue;
      }
      if (body.length > 0 && bytes + size > this.maxMessageBytes) {
        messages.push(`${head}${body.join(',')}]}`);
        body = [];
        bytes = Buffer.byteLength(head) + 2;
      }
      body.push(item);
      bytes += size;
    }
    if (body.length > 0) messages.push(`${head}${body.join(',')}]}`);
    return messages;
  }

  private receive(text: string): void {
    const message = parseMessage(text);
    if (!message || message.o === this.origin) return;
    for (const change of message.c) this.local.deliver(change);
  }
}

/** Parses a broadcast message; anything else on the channel (another program, an older version) is ignored. */
export function parseMessage(text: string): Message | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { v, o, c } = value as Partial<Message>;
  if (v !== 1 || typeof o !== 'string' || !Array.isArray(c)) return null;
  return { v, o, c: c.filter(isChange) };
}

function isChange(value: unknown): value is ExecutionChange {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    KINDS.has(c.kind as string) &&
    Number.isSafeInteger(c.id) &&
    typeof c.task_id === 'string' &&
    typeof c.status === 'string' &&
    (c.created_by_id === null || typeof c.created_by_id === 'string')
  );
}

/** Delay before reconnect attempt `n` (0-based): doubling from 100 ms to 5 s, with jitter so processes spread out. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(5000, 100 * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}
