import type { AgentcoreTask } from '../../create.js';
import { BackendUnavailableError, coerceError, ValidationError } from '../../errors.js';
import { isPlainObject } from '../../json-safe.js';
import { type Logger, silentLogger } from '../../logger.js';
import { closeRedis, connectRedis, type RedisLike } from '../../redis.js';
import { TaskStatus, type TaskStatusValue } from '../../status.js';
import type { TaskExecution } from '../../types.js';
import type { QueueJobState, QueueSource } from '../source.js';

/** Celery's result key prefix (`KeyValueStoreBackend.task_keyprefix`). */
export const CELERY_KEY_PREFIX = 'celery-task-meta-';

/** Default bound on one read when Redis does not answer. */
export const DEFAULT_CELERY_TIMEOUT_MS = 5_000;

/** The one Redis command this source needs; an ioredis client fits. */
export interface CeleryRedis {
  get(key: string): Promise<string | null>;
}

/** Options of `celerySource`. */
export interface CelerySourceOptions {
  /** The Redis of Celery's result backend: a `redis://` URL (opened and closed by the source) or a client. */
  redis: string | CeleryRedis;
  /**
   * Prefix of the result keys; set it to `<global_keyprefix>celery-task-meta-` when Celery's
   * `result_backend_transport_options` has a `global_keyprefix`. @defaultValue `'celery-task-meta-'`
   */
  keyPrefix?: string;
  /** A read that gets no answer within this time fails with `BackendUnavailableError`. @defaultValue `5000` */
  timeoutMs?: number;
  /** Where unreadable (e.g. pickled) results are reported. @defaultValue silent */
  logger?: Logger;
}

/** What Celery stores under `celery-task-meta-<task_id>` (JSON serializer). */
interface CeleryMeta {
  status?: string;
  result?: unknown;
  traceback?: string | null;
}

const STATES: Record<string, TaskStatusValue> = {
  PENDING: TaskStatus.PENDING,
  RECEIVED: TaskStatus.PENDING,
  STARTED: TaskStatus.STARTED,
  RETRY: TaskStatus.RETRY,
  SUCCESS: TaskStatus.SUCCESS,
  FAILURE: TaskStatus.FAILURE,
  REVOKED: TaskStatus.REVOKED,
  REJECTED: TaskStatus.FAILURE,
};

/**
 * The message of a serialized exception, as Python's `str(exc)`: Celery stores
 * `{ exc_type, exc_message: exc.args, exc_module }` with the JSON serializer.
 */
export function celeryExceptionMessage(value: unknown): string | undefined {
  if (!isPlainObject(value) || typeof value.exc_type !== 'string') return undefined;
  const args = value.exc_message;
  const parts = Array.isArray(args) ? args : args === undefined || args === null ? [] : [args];
  if (parts.length === 0) return value.exc_type;
  if (parts.length === 1) return typeof parts[0] === 'string' ? parts[0] : JSON.stringify(parts[0]);
  return JSON.stringify(parts);
}

/**
 * Celery result meta → record status. `SUCCESS` carries the result; `FAILURE`/`RETRY` the exception message as
 * `error` and Celery's traceback; `RECEIVED` counts as `PENDING`. A state we do not know yields `null`.
 */
export function celeryMetaToState(meta: CeleryMeta): QueueJobState | null {
  const status = STATES[String(meta.status)];
  if (!status) return null;
  const state: QueueJobState = { status };
  if (status === TaskStatus.SUCCESS) state.result = meta.result ?? null;
  if (status === TaskStatus.FAILURE || status === TaskStatus.RETRY || status === TaskStatus.REVOKED) {
    const message = celeryExceptionMessage(meta.result);
    if (message !== undefined) state.error = message;
    if (typeof meta.traceback === 'string' && meta.traceback !== '') state.traceback = meta.traceback;
  }
  return state;
}

/**
 * Reads runs executed by Python Celery workers from Celery's Redis result backend (`celery-task-meta-<task_id>`), for
 * mixed Node/Python stacks. A missing key (result expired, never stored) yields `null`, which never changes the row.
 * Python workers write nothing to our table, so a long Celery task looks silent to the timeout job: `isActive`
 * answers from the result backend instead (see there).
 */
export class CelerySource implements QueueSource {
  private client: Promise<CeleryRedis> | undefined;
  private owned: RedisLike | undefined;
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: CelerySourceOptions) {
    if (!options || (typeof options.redis !== 'string' && typeof options.redis?.get !== 'function'))
      throw new ValidationError('celerySource needs { redis: URL or client }', 'redis');
    this.keyPrefix = options.keyPrefix ?? CELERY_KEY_PREFIX;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CELERY_TIMEOUT_MS;
    this.logger = options.logger ?? silentLogger;
  }

  async getState(execution: TaskExecution): Promise<QueueJobState | null> {
    const raw = await this.read(`${this.keyPrefix}${execution.taskId}`);
    if (raw === null) return null;
    let meta: unknown;
    try {
      meta = JSON.parse(raw);
    } catch {
      this.logger.warn(
        { taskId: execution.taskId },
        'agentcore-task: Celery result is not JSON (pickle serializer?); set result_serializer = "json" to sync it',
      );
      return null;
    }
    return isPlainObject(meta) ? celeryMetaToState(meta) : null;
  }

  /**
   * `true` while Celery's result backend says the task is `STARTED` or `RETRY` (with `task_track_started = True`), so
   * the timeout job leaves a long Celery task alone. Celery keeps no liveness of its own in Redis: a worker killed
   * hard leaves `STARTED` behind until the result expires (`result_expires`, one day by default); from then on the key
   * is gone and the run is timed out like any silent one.
   */
  async isActive(execution: TaskExecution): Promise<boolean> {
    const state = await this.getState(execution);
    return state !== null && TaskStatus.running.has(state.status);
  }

  /** Closes the connection this source opened (a given client is left to its owner). */
  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.owned);
  }

  private async read(key: string): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BackendUnavailableError(`Celery result backend did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([(async () => (await this.redis()).get(key))(), timeout]);
    } catch (error) {
      if (error instanceof BackendUnavailableError) throw error;
      throw new BackendUnavailableError(`Celery result backend could not be read: ${coerceError(error).message}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private redis(): Promise<CeleryRedis> {
    const given = this.options.redis;
    if (typeof given !== 'string') return Promise.resolve(given);
    this.client ??= connectRedis(given, this.logger).then(({ client }) => {
      this.owned = client;
      return client;
    });
    return this.client;
  }
}

/** A Celery result-backend source: `celerySource({ redis: process.env.CELERY_RESULT_BACKEND })`. */
export function celerySource(options: CelerySourceOptions): CelerySource {
  return new CelerySource(options);
}

/**
 * Makes `syncTask`, `getTask({ sync: true })` and timeout marking read from Celery's result backend. Without
 * `redis`, the instance's own Redis (`createAgentcoreTask({ redis })`) is used. Closed by `tasks.close()`.
 */
export function useCelerySync(tasks: AgentcoreTask, options: Partial<CelerySourceOptions> = {}): CelerySource {
  const redis = options.redis ?? tasks.redis;
  if (!redis) throw new ValidationError('useCelerySync needs { redis } or an instance created with redis', 'redis');
  const source = new CelerySource({ logger: tasks.logger, ...options, redis });
  tasks.tracker.queueSource = source;
  tasks.onClose(() => source.close());
  return source;
}
