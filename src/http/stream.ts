/**
 * `GET executions/stream/` and `GET executions/{id}/stream/`: server-sent events for the runs the
 * caller may see, fed by the instance's change feed (so changes made by any process arrive).
 */
import type { Context } from 'hono';
import { BackendUnavailableError } from '../errors.js';
import type { ExecutionChange } from '../realtime/feed.js';
import { applyFilters, parseDateBound } from '../store/filters.js';
import type { ExecutionFilters, TaskExecution } from '../types.js';
import type { RegisterRoute } from './app.js';
import type { HttpContext, HttpEnv } from './context.js';
import { JSON_HEADERS, notFound } from './errors.js';
import {
  detailErrorSchema,
  idParamSchema,
  listFilters,
  listQuerySchema,
  parseMetadataFields,
  parseQuery,
  parseWith,
  validationErrorSchema,
} from './schemas.js';
import { canSeeExecution, resolveCreatorScope, type Viewer } from './scope.js';
import { type SerializeOptions, serializeExecution } from './serialize.js';
import { SSE_HEADERS, SseStream } from './sse.js';

/** Handler options of the stream routes. */
export interface StreamOptions {
  /** Interval of the `: heartbeat` comment, in milliseconds. @defaultValue 15000 */
  streamHeartbeatMs?: number;
  /** Open streams per handler; one more is answered 429. @defaultValue 1000 */
  maxStreams?: number;
  /**
   * Open streams per user (by `id`); one more is answered 429 to that user only, so no one user can take the slots
   * every other user needs. @defaultValue 20
   */
  maxStreamsPerUser?: number;
}

/** Every default of the stream options, in one place. */
export const STREAM_DEFAULTS = Object.freeze({
  streamHeartbeatMs: 15_000,
  maxStreams: 1000,
  maxStreamsPerUser: 20,
  /** Recent changes kept to resume a stream from `Last-Event-ID`. */
  replayBuffer: 1000,
  /** Changes a subscriber may have waiting (its client or the database being slow) before it is closed. */
  maxPendingPerStream: 5000,
});

/** The one event type of the streams: the changed run as a list item. */
export interface StreamEventMap {
  /** A run was created or changed: the list item. */
  execution: ReturnType<typeof serializeExecution>;
  /** A run was deleted by cleanup: only its ids (the row is gone). */
  deleted: { id: number; task_id: string };
}

interface Entry {
  seq: number;
  change: ExecutionChange;
  /** The row read once for every subscriber, kept briefly (rows can be large). */
  row?: Promise<TaskExecution | null>;
}

/** What one open stream shows. */
interface Subscriber {
  viewer: Viewer;
  stream: SseStream;
  /** Cheap test on the change alone (ids, status, creator): most changes are dropped here, without a database read. */
  accepts(change: ExecutionChange): boolean;
  /** Full test on the row. */
  matches(run: TaskExecution): Promise<boolean>;
  serialize: SerializeOptions;
  queue: Entry[];
  latest: Map<number, number>;
  running: boolean;
}

/**
 * The open streams of one handler: numbers the changes of the feed, keeps the recent ones for resumption, and hands
 * each to the streams that may show it.
 */
export class StreamHub {
  private readonly subscribers = new Set<Subscriber>();
  /** Open streams per user id: the per-user cap is checked against it. */
  private readonly perUser = new Map<string, number>();
  private readonly recent: Entry[] = [];
  // Starting from the clock keeps ids increasing across restarts, so a stale Last-Event-ID never matches new events.
  private seq = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;
  readonly heartbeatMs: number;
  readonly maxStreams: number;
  readonly maxStreamsPerUser: number;

  constructor(
    private readonly ctx: HttpContext,
    options: StreamOptions,
  ) {
    this.heartbeatMs = positive(options.streamHeartbeatMs, STREAM_DEFAULTS.streamHeartbeatMs);
    this.maxStreams = positive(options.maxStreams, STREAM_DEFAULTS.maxStreams);
    this.maxStreamsPerUser = positive(options.maxStreamsPerUser, STREAM_DEFAULTS.maxStreamsPerUser);
    this.unsubscribe = ctx.tasks.feed.subscribe((change) => this.onChange(change));
    ctx.tasks.onClose(async () => this.close());
  }

  /** Streams open now. */
  get size(): number {
    return this.subscribers.size;
  }

  /** Ends every stream and stops listening (at `tasks.close()`). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const s of [...this.subscribers]) s.stream.close();
    this.stopHeartbeat();
  }

  /** Streams open now for the user with this id. */
  sizeOf(userId: string | number): number {
    return this.perUser.get(String(userId)) ?? 0;
  }

  /**
   * Opens a stream for `subscriber`, replaying what it missed after `lastEventId` when those changes are still kept.
   * A `HEAD` request gets the stream's headers and holds no slot (Hono would drop the body of a GET answer without
   * ever cancelling it, leaving the slot taken for good).
   */
  open(c: Context<HttpEnv>, spec: Omit<Subscriber, 'stream' | 'queue' | 'latest' | 'running'>): Response {
    if (this.closed) throw new BackendUnavailableError('The server is shutting down.');
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers: { ...SSE_HEADERS } });
    const userKey = String(spec.viewer.user.id);
    if (this.sizeOf(userKey) >= this.maxStreamsPerUser)
      return tooManyStreams(
        `Too many open streams for this user (at most ${this.maxStreamsPerUser}); close one first.`,
      );
    if (this.subscribers.size >= this.maxStreams) return tooManyStreams('Too many open streams; try again later.');
    const signal = c.req.raw.signal;
    // A client gone before we got here would never fire `abort` again: hold nothing for it.
    if (signal?.aborted) return new Response(null, { status: 200, headers: { ...SSE_HEADERS } });
    const stream = new SseStream(signal);
    const subscriber: Subscriber = { ...spec, stream, queue: [], latest: new Map(), running: false };
    this.subscribers.add(subscriber);
    this.perUser.set(userKey, this.sizeOf(userKey) + 1);
    // Every way a stream ends (client gone, server closing, a failed event, a slow client) runs this once.
    stream.onClose(() => {
      if (!this.subscribers.delete(subscriber)) return;
      const left = this.sizeOf(userKey) - 1;
      if (left > 0) this.perUser.set(userKey, left);
      else this.perUser.delete(userKey);
      if (this.subscribers.size === 0) this.stopHeartbeat();
    });
    stream.comment('connected');
    this.startHeartbeat();
    const lastId = Number(c.req.header('last-event-id'));
    const first = this.recent[0];
    // Resume only without a gap: the first kept change must follow the client's last one directly or earlier.
    if (Number.isSafeInteger(lastId) && first && first.seq <= lastId + 1 && lastId < this.seq)
      for (const entry of this.recent) if (entry.seq > lastId) this.offer(subscriber, entry);
    return stream.response;
  }

  private onChange(change: ExecutionChange): void {
    const entry: Entry = { seq: ++this.seq, change };
    this.recent.push(entry);
    if (this.recent.length > STREAM_DEFAULTS.replayBuffer) this.recent.shift();
    for (const s of this.subscribers) this.offer(s, entry);
  }

  private offer(s: Subscriber, entry: Entry): void {
    if (!s.accepts(entry.change)) return;
    if (s.queue.length >= STREAM_DEFAULTS.maxPendingPerStream) {
      s.stream.close(); // too far behind: the client reconnects and resumes from its last id
      return;
    }
    s.queue.push(entry);
    s.latest.set(entry.change.id, entry.seq);
    if (!s.running) void this.drain(s);
  }

  /** Sends a subscriber's waiting changes in order; an older change of a run with a newer one waiting is skipped. */
  private async drain(s: Subscriber): Promise<void> {
    s.running = true;
    try {
      while (s.queue.length > 0 && !s.stream.closed) {
        const entry = s.queue.shift()!;
        if ((s.latest.get(entry.change.id) ?? 0) > entry.seq) continue;
        s.latest.delete(entry.change.id);
        if (entry.change.kind === 'deleted') {
          // The row is gone, so only what the change carries is sent, to streams whose scope (creator) admits it.
          sendEvent(s.stream, 'deleted', entry.seq, { id: entry.change.id, task_id: entry.change.task_id });
          continue;
        }
        const run = await this.read(entry);
        if (!run || !canSeeExecution(s.viewer, run) || !(await s.matches(run))) continue;
        sendEvent(s.stream, 'execution', entry.seq, serializeExecution(run, s.serialize));
      }
    } catch (error) {
      this.ctx.tasks.logger.warn({ err: error }, 'agentcore-task: stream event failed; closing the stream');
      s.stream.close();
    } finally {
      s.running = false;
    }
  }

  private read(entry: Entry): Promise<TaskExecution | null> {
    if (!entry.row) {
      entry.row = this.ctx.tasks.tracker.getById(entry.change.id).catch((error) => {
        this.ctx.tasks.logger.debug({ err: error }, 'agentcore-task: stream could not read a changed run');
        return null;
      });
      setTimeout(() => {
        entry.row = undefined;
      }, 1000).unref?.();
    }
    return entry.row;
  }

  private startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => {
      for (const s of this.subscribers) s.stream.comment('heartbeat');
    }, this.heartbeatMs);
    this.heartbeat.unref?.();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

/** 429 with `Retry-After`, as JSON like every error of the API. */
function tooManyStreams(message: string): Response {
  return new Response(JSON.stringify({ detail: message, error: message }), {
    status: 429,
    headers: { ...JSON_HEADERS, 'retry-after': '5' },
  });
}

/** Writes one event of the typed map (the event name and its data shape go together). */
function sendEvent<K extends keyof StreamEventMap>(
  stream: SseStream,
  event: K,
  id: number,
  data: StreamEventMap[K],
): void {
  stream.send({ event, id: String(id), data: JSON.stringify(data) });
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
}

const sameId = (a: string | number, b: string | number) => String(a) === String(b);

/** The list filters a row must pass, in JS; metadata filters are checked by the database (its text comparison). */
function rowMatcher(ctx: HttpContext, filters: ExecutionFilters): (run: TaskExecution) => Promise<boolean> {
  const start = filters.startDate === undefined ? undefined : parseDateBound(filters.startDate, 'start_date', false);
  const end = filters.endDate === undefined ? undefined : parseDateBound(filters.endDate, 'end_date', true);
  const search = filters.search ? filters.search.toLowerCase() : undefined;
  const metadata = filters.metadata && Object.keys(filters.metadata).length > 0 ? filters.metadata : undefined;
  return async (run) => {
    if (
      filters.createdById !== undefined &&
      (run.createdById === null || !sameId(run.createdById, filters.createdById as string | number))
    )
      return false;
    if (filters.module !== undefined && run.module !== filters.module) return false;
    if (filters.taskName !== undefined && run.taskName !== filters.taskName) return false;
    if (filters.status !== undefined && run.status !== filters.status) return false;
    const created = run.createdAt.getTime();
    if (start && created < start.at.getTime()) return false;
    if (end && (end.exclusive ? created >= end.at.getTime() : created > end.at.getTime())) return false;
    if (search && !run.taskName.toLowerCase().includes(search) && !run.taskId.toLowerCase().includes(search))
      return false;
    if (!metadata) return true;
    const { db, dialect } = ctx.tasks;
    const hit = await applyFilters(
      db.selectFrom('agentcore_task_execution').select('id').where('id', '=', run.id),
      { metadata },
      dialect,
    ).executeTakeFirst();
    return hit !== undefined;
  };
}

const streamResponses = {
  200: {
    description:
      'Server-sent events: `event: execution`, `data:` the run as a list item, increasing `id:`; a `: heartbeat` comment every 15 s. Resumes after `Last-Event-ID` while the missed changes are still kept.',
    contentType: 'text/event-stream',
  },
  401: { description: 'No user', schema: detailErrorSchema },
  429: {
    description: 'Too many open streams: for this user (`maxStreamsPerUser`) or in all (`maxStreams`)',
    schema: detailErrorSchema,
  },
};

/** Registers the two stream routes. Call it before `executions/{id}/` so `stream` is not read as an id. */
export function registerStreamRoutes(route: RegisterRoute, ctx: HttpContext, hub: StreamHub): void {
  const viewerOf = (c: Context<HttpEnv>): Viewer => ({ user: c.get('user'), canViewAll: c.get('canViewAll') });

  route(
    {
      method: 'get',
      path: '/executions/stream/',
      operationId: 'streamExecutions',
      summary: 'Live changes of the runs the list would show with the same filters and scoping (server-sent events).',
      tags: ['executions'],
      query: listQuerySchema,
      extraQuery: [{ name: 'metadata.<key>', description: 'Exact match on a top-level metadata key, as in the list.' }],
      responses: {
        ...streamResponses,
        400: { description: 'Invalid parameter', schema: validationErrorSchema },
        403: { description: 'Not allowed', schema: detailErrorSchema },
      },
    },
    async (c) => {
      const params = new URL(c.req.url).searchParams;
      const query = parseQuery(listQuerySchema, params);
      const viewer = viewerOf(c);
      const filters: ExecutionFilters = {
        ...listFilters(query, params),
        createdById: resolveCreatorScope(viewer, query),
      };
      const ownId = String(viewer.user.id);
      const creator = filters.createdById === undefined ? undefined : String(filters.createdById);
      return hub.open(c, {
        viewer,
        accepts: (change) =>
          (viewer.canViewAll || change.created_by_id === ownId) &&
          (creator === undefined || change.created_by_id === creator) &&
          (filters.status === undefined || change.status === filters.status),
        matches: rowMatcher(ctx, filters),
        serialize: {
          includeMetadata: query.include_metadata !== false,
          metadataFields: parseMetadataFields(query.metadata_fields),
        },
      });
    },
  );

  route(
    {
      method: 'get',
      path: '/executions/{id}/stream/',
      operationId: 'streamExecution',
      summary: 'Live changes of one run (server-sent events); the detail route’s authorization.',
      tags: ['executions'],
      pathParams: idParamSchema,
      responses: {
        ...streamResponses,
        400: { description: 'Invalid id', schema: validationErrorSchema },
        404: { description: 'No such run, or a run the caller may not see', schema: detailErrorSchema },
      },
    },
    async (c) => {
      const { id } = parseWith(idParamSchema, { id: c.req.param('id') });
      const viewer = viewerOf(c);
      const run = await ctx.tasks.tracker.getById(id);
      if (!run || !canSeeExecution(viewer, run)) throw notFound();
      return hub.open(c, { viewer, accepts: (change) => change.id === id, matches: async () => true, serialize: {} });
    },
  );
}
