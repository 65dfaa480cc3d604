import type { AgentcoreTask } from '../../create.js';
import { ValidationError } from '../../errors.js';
import { type BullmqConnection, backendFor, isPostgresConnection } from './backend.js';
import { loadBullmq } from './load.js';
import { positionKey } from './recorder-position.js';
import {
  QueueRecording,
  type QueueRecordingStats,
  type ReconcileSummary,
  type RecorderEvents,
  type RecorderQueue,
} from './recorder-queue.js';

export type { QueueRecordingStats, ReconcileSummary };

/** Default `module` of the runs a recorder registers. */
export const DEFAULT_RECORDER_MODULE = 'bullmq';

/** Options of `recordQueues`. */
export interface RecordQueuesOptions {
  /** Names of the BullMQ queues to record. */
  queues: readonly string[];
  /**
   * Where the queues live: Redis (a `redis://` URL, an ioredis instance or BullMQ connection options) or, with
   * bullmq 6, its PostgreSQL backend (a `postgres://` URL or `{ connectionString, schema }`).
   */
  connection: BullmqConnection;
  /** BullMQ key prefix of the queues (Redis). @defaultValue `'bull'` */
  prefix?: string;
  /** Business scope recorded on the runs the recorder registers (runs registered before, e.g. by `dispatch`, keep theirs). @defaultValue `'bullmq'` */
  module?: string;
  /**
   * Record each job's data as the run's arguments (`task_kwargs` for an object, else `task_args`). Costs one read of
   * each job (pipelined); `false` records name and queue only, and reads a job only when it must (a failure's stack,
   * a job whose `added` event the recorder did not see).
   * @defaultValue `true`
   */
  jobData?: boolean;
  /** How often the position in each queue's event stream is stored. @defaultValue `1000` */
  positionIntervalMs?: number;
  /**
   * How often the event stream is checked for events trimmed before the recorder read them (Redis 7's
   * `max-deleted-entry-id` newer than the last event read; a gap found is reconciled). It sees a recorder that is
   * behind the trimming when it looks, not one that already caught up: connection errors, the quiet-job reads
   * (`sweepIntervalMs`) and `reconcileIntervalMs` cover the rest. `0` turns it off. @defaultValue `2000`
   */
  gapCheckIntervalMs?: number;
  /**
   * Reconcile active and recently finished jobs this often even when no gap was seen (a safety net). `0` turns it
   * off. @defaultValue `0`
   */
  reconcileIntervalMs?: number;
  /**
   * How often jobs that are running and have had no event for a while are read again (catches an event the stream
   * never delivered; a quiet job is read less often the longer it stays quiet). `0` turns it off.
   * @defaultValue `2000`
   */
  sweepIntervalMs?: number;
  /**
   * How often the newest ids of each queue's completed and failed sets are checked against the runs: a run not known
   * to be finished at two checks in a row is finished from its job (`checkedWrites` in `stats()`). It makes up for
   * final events the stream never delivered (bullmq 6's PostgreSQL backend can skip an event whose transaction
   * commits after a newer one was read; then a job may not even be seen running). Reads ids only, page by page
   * (`reconcilePageSize`), down to one page past where the previous check began (at most 10 pages a set), so a quiet
   * queue costs four range reads per check; only suspect jobs are read in full. `0` turns it off.
   * @defaultValue `500` on bullmq 6's PostgreSQL backend (where events are skipped), `5000` on Redis
   */
  finishedCheckIntervalMs?: number;
  /** Jobs read per call while reconciling. @defaultValue `500` */
  reconcilePageSize?: number;
  /**
   * Finished jobs are reconciled back to the stored position (or the gap's start) less this much, for clocks of
   * workers that run behind the recorder's. @defaultValue `300000` (5 minutes)
   */
  clockMarginMs?: number;
}

/** A running recorder (see `recordQueues`). */
export interface QueueRecorder {
  /** Resolves when every queue was reconciled once (at start); per queue, what was read. */
  readonly ready: Promise<ReconcileSummary[]>;
  /** Live figures per queue. */
  stats(): QueueRecordingStats[];
  /** Reconciles every queue now (all sets, back to `since` epoch ms for finished jobs; all of them without it). */
  reconcile(since?: number): Promise<ReconcileSummary[]>;
  /**
   * Resolves `true` once the writes of every event received so far have landed and the positions are stored,
   * `false` after `timeoutMs`.
   */
  idle(timeoutMs?: number): Promise<boolean>;
  /**
   * Stops reading events, lets the writes of events already read land (up to `timeoutMs`), stores the positions and
   * closes the connections it opened. Also done by `tasks.close()`. Idempotent.
   */
  close(timeoutMs?: number): Promise<void>;
}

const DEFAULTS = {
  module: DEFAULT_RECORDER_MODULE,
  jobData: true,
  positionIntervalMs: 1_000,
  gapCheckIntervalMs: 2_000,
  reconcileIntervalMs: 0,
  reconcilePageSize: 500,
  sweepIntervalMs: 2_000,
  finishedCheckIntervalMs: 5_000,
  clockMarginMs: 300_000,
} as const;

/**
 * The finished-set check's default on bullmq 6's PostgreSQL backend: its event reader skips events (a few percent of
 * jobs under load, measured), so the check is what finishes those runs, and its interval is their lag.
 */
const PG_FINISHED_CHECK_INTERVAL_MS = 500;

const PURPOSE = 'Recording BullMQ queues';

/**
 * Records every run of existing BullMQ queues without touching their workers (which may be written in any language
 * BullMQ supports), from the queues' event streams (`QueueEvents`: Redis, or bullmq 6's PostgreSQL backend):
 * `STARTED` on `active`, progress into metadata, `SUCCESS` with the return value, `RETRY` between attempts and
 * `FAILURE` with the reason and stack; the job name is the task name, the job id the `task_id` (as `tracked` records
 * it, so both line up), the queue the `queue_name`.
 *
 * At start, and after a gap (a connection error, events trimmed from the stream before they were read), it
 * reconciles from the queue's job sets; between, it reads again running jobs that stay quiet and checks the newest
 * finished jobs against the runs, for events the stream never delivered. It stores its position in each stream (in `agentcore_task_config`, key
 * `recorder:<queue>:last_event_id`) once the writes of every event before it have landed, and a restarted recorder
 * resumes there, so no run is missed. Nothing is recorded twice: a run is registered once per `task_id`, and a
 * finished status is never undone by a late or repeated event; several recorders of one queue write the same rows.
 *
 * @example
 * const recorder = recordQueues(tasks, { queues: ['emails', 'reports'], connection: process.env.REDIS_URL });
 * await recorder.ready;
 * // …
 * await recorder.close();
 */
export function recordQueues(tasks: AgentcoreTask, options: RecordQueuesOptions): QueueRecorder {
  const resolved = resolveOptions(options);
  const recordings: QueueRecording[] = [];
  let closing: Promise<void> | undefined;
  const opened = (async () => {
    for (const name of resolved.queues) recordings.push(await openRecording(tasks, name, resolved));
  })();
  const ready = opened.then(() => Promise.all(recordings.map((r) => r.start())));
  ready.catch(() => {}); // surfaced through `ready`, never as an unhandled rejection
  const recorder: QueueRecorder = {
    ready,
    stats: () => recordings.map((r) => r.stats()),
    async reconcile(since) {
      await opened;
      return Promise.all(recordings.map((r) => r.reconcile(true, since)));
    },
    async idle(timeoutMs) {
      await ready.catch(() => {});
      const all = await Promise.all(recordings.map((r) => r.idle(timeoutMs)));
      return all.every(Boolean);
    },
    close(timeoutMs) {
      closing ??= (async () => {
        await opened.catch(() => {});
        await Promise.all(recordings.map((r) => r.close(timeoutMs)));
      })();
      return closing;
    },
  };
  tasks.onClose(() => recorder.close());
  return recorder;
}

type ResolvedOptions = Required<Omit<RecordQueuesOptions, 'prefix'>> & { prefix?: string };

function resolveOptions(options: RecordQueuesOptions): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new ValidationError('recordQueues needs options', 'queues');
  const queues = options.queues;
  if (!Array.isArray(queues) || queues.length === 0)
    throw new ValidationError('queues must name at least one queue', 'queues');
  for (const q of queues)
    if (typeof q !== 'string' || q === '' || q.includes(':'))
      throw new ValidationError(`queue names must be non-empty and without ":", got ${JSON.stringify(q)}`, 'queues');
  if (new Set(queues).size !== queues.length) throw new ValidationError('queues must not repeat a name', 'queues');
  if (options.connection === undefined || options.connection === null || options.connection === '')
    throw new ValidationError(
      'connection is required (a redis:// or postgres:// URL, or connection options)',
      'connection',
    );
  const module = options.module ?? DEFAULTS.module;
  if (typeof module !== 'string' || module.length > 100)
    throw new ValidationError('module must be a string of at most 100 characters', 'module');
  const resolved: ResolvedOptions = {
    ...DEFAULTS,
    ...(isPostgresConnection(options.connection) ? { finishedCheckIntervalMs: PG_FINISHED_CHECK_INTERVAL_MS } : {}),
    ...stripUndefined(options),
    module,
    queues: [...queues],
    connection: options.connection,
  };
  for (const key of ['positionIntervalMs', 'reconcilePageSize'] as const)
    if (!(Number.isInteger(resolved[key]) && resolved[key] > 0))
      throw new ValidationError(`${key} must be a positive integer`, key);
  for (const key of [
    'gapCheckIntervalMs',
    'reconcileIntervalMs',
    'sweepIntervalMs',
    'finishedCheckIntervalMs',
    'clockMarginMs',
  ] as const)
    if (!(Number.isInteger(resolved[key]) && resolved[key] >= 0))
      throw new ValidationError(`${key} must be a non-negative integer`, key);
  return resolved;
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The Redis calls of the trim check. */
interface RedisXinfo {
  xinfo(subcommand: 'STREAM', key: string): Promise<unknown[]>;
}

async function openRecording(tasks: AgentcoreTask, name: string, options: ResolvedOptions): Promise<QueueRecording> {
  const { Queue, QueueEvents } = await loadBullmq(PURPOSE);
  const onPostgres = isPostgresConnection(options.connection);
  const { opts, factory } = await backendFor(options.connection, PURPOSE, {
    prefix: options.prefix,
    ...(onPostgres ? { max: 2 } : {}),
  });
  // bullmq 6 takes the backend factory last (typed per backend); bullmq 5 has no such parameter.
  const queue = new Queue(name, opts as never, factory as never);
  queue.on('error', (error) =>
    tasks.logger.warn({ err: error, queue: name }, 'agentcore-task recorder: BullMQ connection error'),
  );
  const openEvents = async (lastEventId: string): Promise<RecorderEvents> => {
    const events = new QueueEvents(name, { ...opts, lastEventId, autorun: false } as never, factory as never);
    return events as unknown as RecorderEvents;
  };
  const namespace = onPostgres
    ? typeof options.connection === 'object'
      ? (options.connection as { schema?: string }).schema
      : undefined
    : options.prefix && options.prefix !== 'bull'
      ? options.prefix
      : undefined;
  const trimmedThrough = onPostgres ? undefined : () => trimmedThroughOf(queue as unknown as RedisQueueLike);
  return new QueueRecording(tasks, queue as unknown as RecorderQueue, openEvents, {
    module: options.module,
    jobData: options.jobData,
    positionKey: positionKey(name, namespace),
    positionIntervalMs: options.positionIntervalMs,
    gapCheckIntervalMs: options.gapCheckIntervalMs,
    reconcileIntervalMs: options.reconcileIntervalMs,
    reconcilePageSize: options.reconcilePageSize,
    sweepIntervalMs: options.sweepIntervalMs,
    finishedCheckIntervalMs: options.finishedCheckIntervalMs,
    clockMarginMs: options.clockMarginMs,
    ...(trimmedThrough ? { trimmedThrough } : {}),
  });
}

/** A Redis-backed queue as bullmq 5 (`client`) or 6 (`getBackend().client`) exposes it. */
interface RedisQueueLike {
  client?: Promise<RedisXinfo>;
  getBackend?: () => { client?: Promise<RedisXinfo> } | undefined;
  toKey(type: string): string;
}

/**
 * The newest event id trimmed from the queue's stream (Redis 7's `max-deleted-entry-id`; before Redis 7, the entry
 * before the first one left, approximated by the first one's id less one). `undefined` when nothing was trimmed.
 */
async function trimmedThroughOf(queue: RedisQueueLike): Promise<string | undefined> {
  const client = await (typeof queue.getBackend === 'function' ? queue.getBackend()?.client : queue.client);
  if (!client) return undefined;
  let info: unknown[];
  try {
    info = await client.xinfo('STREAM', queue.toKey('events'));
  } catch {
    return undefined; // no stream yet
  }
  const field = (name: string) => {
    const i = info.findIndex((v) => String(v) === name);
    return i >= 0 ? info[i + 1] : undefined;
  };
  const deleted = field('max-deleted-entry-id');
  if (deleted !== undefined) return String(deleted) === '0-0' ? undefined : String(deleted);
  const first = field('first-entry') as [string, unknown] | null | undefined;
  if (!first) return undefined;
  const [ms, seq] = String(first[0]).split('-').map(BigInt);
  if (ms === undefined || seq === undefined) return undefined;
  return seq > 0n ? `${ms}-${seq - 1n}` : `${ms - 1n}-${Number.MAX_SAFE_INTEGER}`;
}
