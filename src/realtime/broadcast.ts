import { randomUUID } from 'node:crypto';
import { coerceError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  type ChangeFeed,
  DELETED_SLICE,
  type DeletedExecution,
  type ExecutionChange,
  MemoryChangeFeed,
  yieldToEventLoop,
} from './feed.js';

/**
 * What a cross-process feed needs from its backend: send one message to every process, and hand the messages of
 * every process (ours included) to `onMessage`. PostgreSQL NOTIFY and Redis pub/sub both fit.
 */
export interface BroadcastTransport {
  /**
   * Sends messages (each at most `maxMessageBytes`) together: PostgreSQL sends them in one statement, so a burst
   * costs one commit, not one per message.
   */
  send(messages: string[]): Promise<void>;
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
  /**
   * How long a change waits for others to join its message. A one-at-a-time writer (each write awaited) would
   * otherwise pay one NOTIFY round trip per write; a few milliseconds fold a run of them into one message, and other
   * processes see the change that much later (local subscribers get it at once). @defaultValue 5
   */
  lingerMs?: number;
}

/**
 * Wire shape of one broadcast message: the sender's id and a batch of changes. Runs deleted together (cleanup) travel
 * as `d`, tuples `[id, task_id, created_by_id, index of the status in s]`: a third of the bytes of a change each, so
 * a cleanup of half a million runs sends a few hundred kilobytes per 5000-row batch instead of several megabytes.
 */
interface Message {
  v: 1;
  o: string;
  c: ExecutionChange[];
  d?: DeletedTuple[];
  s?: string[];
}

type DeletedTuple = [id: number, taskId: string, createdById: string | null, status: number];

export const DEFAULT_MAX_MESSAGE_BYTES = 7500;
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_SEND_TIMEOUT_MS = 5000;
export const DEFAULT_LINGER_MS = 5;
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
  /** How every message of ours starts. */
  private readonly head = `{"v":1,"o":${JSON.stringify(this.origin)},`;
  private readonly local = new MemoryChangeFeed();
  private readonly maxMessageBytes: number;
  private readonly maxPending: number;
  private pending = new Map<number, ExecutionChange>();
  /** Deletion batches waiting to be sent, and how many runs they hold. */
  private deleted: (readonly DeletedExecution[])[] = [];
  private deletedRuns = 0;
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

  /**
   * Delivers the deletions locally, then sends them as compact messages; resolves once they have been sent (or
   * dropped, logged). Beyond `maxPending` waiting runs the oldest whole batches are dropped, never the newest.
   */
  async publishDeleted(runs: readonly DeletedExecution[]): Promise<void> {
    await this.local.publishDeleted(runs);
    if (this.closed || runs.length === 0) return;
    this.deleted.push(runs);
    this.deletedRuns += runs.length;
    while (this.deletedRuns > this.maxPending && this.deleted.length > 1)
      this.deletedRuns -= this.deleted.shift()?.length ?? 0;
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
      // Let the current burst, and the next few awaited writes, join the batch.
      const linger = this.options.lingerMs ?? DEFAULT_LINGER_MS;
      if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
      else await null;
      while (this.pending.size > 0 || this.deleted.length > 0) {
        const changes = [...this.pending.values()];
        const deleted = this.deleted.flat();
        this.pending = new Map();
        this.deleted = [];
        this.deletedRuns = 0;
        // Changes before deletions: a run updated and then deleted ends deleted everywhere.
        const messages = [...this.pack(changes), ...(await this.packDeleted(deleted))];
        if (messages.length > 0) await this.send(messages);
      }
      this.sending = undefined;
    })();
    return this.sending;
  }

  private async send(messages: string[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.options.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
      await Promise.race([
        this.transport.send(messages),
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

  /** Packs changes into messages that each stay under the size limit. */
  private pack(changes: ExecutionChange[]): string[] {
    const packer = this.packer(`${this.head}"c":[`);
    for (const change of changes) packer.add(JSON.stringify(change));
    return packer.done();
  }

  /**
   * Packs deleted runs as tuples (see `Message`), with the statuses they use listed once per message. A cleanup batch
   * holds thousands of runs: the work is done in slices, so other callbacks (a writer's replies) run in between.
   */
  private async packDeleted(runs: readonly DeletedExecution[]): Promise<string[]> {
    if (runs.length === 0) return [];
    const statuses = [...new Set(runs.map((run) => run.status))];
    const statusIndex = new Map(statuses.map((status, i) => [status, i]));
    const packer = this.packer(`${this.head}"c":[],"s":${JSON.stringify(statuses)},"d":[`);
    for (let i = 0; i < runs.length; i++) {
      if (i > 0 && i % DELETED_SLICE === 0) await yieldToEventLoop();
      const run = runs[i];
      const tuple: DeletedTuple = [run.id, run.task_id, run.created_by_id, statusIndex.get(run.status) ?? 0];
      packer.add(JSON.stringify(tuple));
    }
    return packer.done();
  }

  /** Joins JSON items into messages `head item,item,… ]}` of at most `maxMessageBytes`; a larger item is skipped. */
  private packer(head: string) {
    const { logger } = this.options;
    const limit = this.maxMessageBytes;
    const messages: string[] = [];
    const frame = Buffer.byteLength(head) + 2;
    let body: string[] = [];
    let bytes = frame;
    return {
      add(item: string) {
        const size = Buffer.byteLength(item) + 1;
        if (size + frame > limit) {
          logger.warn({ change: item.slice(0, 300) }, 'agentcore-task: change notification too large; skipped');
          return;
        }
        if (body.length > 0 && bytes + size > limit) {
          messages.push(`${head}${body.join(',')}]}`);
          body = [];
          bytes = frame;
        }
        body.push(item);
        bytes += size;
      },
      done(): string[] {
        if (body.length > 0) messages.push(`${head}${body.join(',')}]}`);
        return messages;
      },
    };
  }

  private receive(text: string): void {
    // Nobody to tell, or our own echo (every message we send starts with our id): not worth parsing.
    if (this.local.size === 0 || text.startsWith(this.head)) return;
    const message = parseMessage(text);
    if (!message || message.o === this.origin) return;
    for (const change of message.c) this.local.deliver(change);
  }
}

/**
 * Parses a broadcast message into its sender and changes (deleted runs included, as changes of kind `deleted`);
 * anything else on the channel (another program, an older version) is ignored.
 */
export function parseMessage(text: string): { v: 1; o: string; c: ExecutionChange[] } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { v, o, c, d, s } = value as Partial<Message>;
  if (v !== 1 || typeof o !== 'string' || !Array.isArray(c)) return null;
  const changes = c.filter(isChange);
  if (Array.isArray(d) && Array.isArray(s) && s.every((status) => typeof status === 'string'))
    for (const tuple of d) {
      if (!Array.isArray(tuple)) continue;
      const [id, taskId, createdById, status] = tuple as unknown[];
      const change = {
        kind: 'deleted',
        id,
        task_id: taskId,
        status: Number.isInteger(status) ? s[status as number] : undefined,
        created_by_id: createdById,
      };
      if (isChange(change)) changes.push(change);
    }
  return { v, o, c: changes };
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
