import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BackendUnavailableError, coerceError, ValidationError } from '../errors.js';
import { hasUnstorableText } from '../json-safe.js';
import type { Logger } from '../logger.js';
import {
  type PreventDuplicateOptions,
  readLockParam,
  type SkippedTaskResult,
  skippedResult,
  taskLockName,
} from './prevent-duplicate.js';
import type { LockProvider } from './provider.js';

/** Every lock key starts with this, in every backend. */
export const LOCK_KEY_PREFIX = 'agentcore_task_task_lock:';
/** Default lock TTL in seconds. */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 3600;
/**
 * A lock operation that takes longer than this counts as a backend failure: acquisition fails closed in bounded time
 * even on a client that would queue commands until Redis comes back.
 */
export const DEFAULT_LOCK_OPERATION_TIMEOUT_MS = 3_000;

/** One held lock, as `listLocks()` reports it. */
export interface TaskLockInfo {
  /** The lock name as given to `acquireTaskLock` (for `preventDuplicateTask`: with `_${value}`). */
  name: string;
  /** The backend key: `agentcore_task_task_lock:` + name. */
  key: string;
  /** Owner token (`host:pid:uuid`) of the process holding it. */
  owner: string;
  /** When it expires unless renewed or released. */
  expiresAt: Date | null;
}

export interface TaskLocksOptions {
  provider: LockProvider;
  logger: Logger;
  /** @defaultValue `DEFAULT_LOCK_OPERATION_TIMEOUT_MS` (3 s) */
  operationTimeoutMs?: number;
}

/** The result of one acquisition attempt: our owner token, or why not. */
type Acquisition = { owner: string } | 'held' | 'failed';

class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/**
 * Task locks over one backend. A lock is held by an owner token; this instance remembers the tokens
 * of the locks it took, so `releaseTaskLock` frees only those (unless `force`), and a late release after the lock
 * expired and was taken by someone else frees nothing. Backend failures are logged and reported as `false`: locks
 * fail closed and never throw into the task.
 */
export class TaskLocks {
  private readonly provider: LockProvider;
  private readonly logger: Logger;
  private readonly operationTimeoutMs: number;
  /** Lock name → owner token of the locks this instance holds. */
  private readonly held = new Map<string, string>();
  /** Stops of the renewals running now. */
  private readonly renewals = new Set<() => void>();

  constructor(options: TaskLocksOptions) {
    this.provider = options.provider;
    this.logger = options.logger;
    this.operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_LOCK_OPERATION_TIMEOUT_MS;
  }

  /**
   * Takes the lock `lockName` for `timeoutSeconds` (fractions allowed). `false` when it is held (by anyone, this
   * instance included) or when the backend fails or does not answer in time.
   * @example
   * if (await tasks.acquireTaskLock('nightly_report', 600)) {
   *   try { await buildReport(); } finally { await tasks.releaseTaskLock('nightly_report'); }
   * }
   */
  async acquireTaskLock(lockName: string, timeoutSeconds: number = DEFAULT_LOCK_TIMEOUT_SECONDS): Promise<boolean> {
    const result = await this.acquire(lockName, ttlOf(timeoutSeconds, 'timeoutSeconds'));
    if (typeof result !== 'object') return false;
    this.held.set(lockName, result.owner);
    return true;
  }

  /**
   * Releases `lockName` if this instance holds it (compare-and-delete on its owner token). `force: true` releases it
   * whoever holds it (for operators). `false` when nothing was released, or the backend failed.
   */
  async releaseTaskLock(lockName: string, options: { force?: boolean } = {}): Promise<boolean> {
    checkName(lockName);
    const owner = this.held.get(lockName);
    if (!options.force && owner === undefined) {
      this.logger.debug({ lockName }, 'agentcore-task: not releasing a lock this instance does not hold');
      return false;
    }
    const released = await this.release(lockName, options.force ? null : (owner as string));
    if (options.force || this.held.get(lockName) === owner) this.held.delete(lockName);
    return released;
  }

  /** Whether anyone holds `lockName` now. `false` (and a warning) when the backend fails. */
  async isTaskLocked(lockName: string): Promise<boolean> {
    checkName(lockName);
    try {
      return await this.deadline(this.provider.isLocked(lockKey(lockName)), 'isLocked');
    } catch (error) {
      this.logger.warn({ err: error, lockName }, 'agentcore-task: cannot check task lock');
      return false;
    }
  }

  /** Every task lock held now, by name. Throws `BackendUnavailableError` when the backend fails. */
  async listLocks(): Promise<TaskLockInfo[]> {
    let entries: Awaited<ReturnType<LockProvider['list']>>;
    try {
      entries = await this.deadline(this.provider.list(), 'list');
    } catch (error) {
      throw new BackendUnavailableError('cannot list task locks: the lock backend is unavailable', { cause: error });
    }
    return entries
      .filter((entry) => entry.name.startsWith(LOCK_KEY_PREFIX))
      .map((entry) => ({ ...entry, key: entry.name, name: entry.name.slice(LOCK_KEY_PREFIX.length) }));
  }

  /**
   * Wraps `fn` so that at most one call per lock name runs at a time. Each call takes the lock `lockName` (or
   * `${lockName}_${value}` with `lockParam`), runs `fn`, and releases the lock in `finally`. When the lock is held it
   * returns a `task_already_running` skip payload without running `fn`; when the backend fails, a
   * `lock_acquisition_failed` one (fail closed).
   * @example
   * const sync = tasks.preventDuplicateTask({ lockName: 'sync_user', lockParam: 'userId' }, async (job: Job) => {
   *   await syncUser(job.data.userId);
   * });
   * new Worker('sync', sync, { connection });
   */
  preventDuplicateTask<This, Args extends unknown[], Result>(
    options: PreventDuplicateOptions,
    fn: (this: This, ...args: Args) => Result,
  ): (this: This, ...args: Args) => Promise<Awaited<Result> | SkippedTaskResult> {
    const { lockName, lockParam, renew = false } = options;
    checkName(lockName);
    const ttlMs = ttlOf(options.timeout ?? DEFAULT_LOCK_TIMEOUT_SECONDS, 'timeout');
    const locks = this;
    return async function preventDuplicate(this: This, ...args: Args): Promise<Awaited<Result> | SkippedTaskResult> {
      let name = lockName;
      if (lockParam !== undefined) {
        name = taskLockName(lockName, readLockParam(args[0], lockParam));
        if (name === lockName)
          locks.logger.warn(
            { lockName, lockParam },
            'agentcore-task: lockParam missing from the first argument; using the lock name alone',
          );
      }
      const acquired = await locks.acquire(name, ttlMs);
      if (acquired === 'held') return skippedResult('task_already_running', name);
      if (acquired === 'failed') return skippedResult('lock_acquisition_failed', name);
      const { owner } = acquired;
      locks.held.set(name, owner);
      const stopRenewal = renew ? locks.startRenewal(name, owner, ttlMs) : undefined;
      try {
        const value: Awaited<Result> = await fn.apply(this, args);
        return value;
      } finally {
        stopRenewal?.();
        await locks.release(name, owner);
        if (locks.held.get(name) === owner) locks.held.delete(name);
      }
    };
  }

  /** Stops renewals and closes what the backend opened itself. Held locks are left to expire. */
  async close(): Promise<void> {
    for (const stop of [...this.renewals]) stop();
    await this.provider.close?.();
  }

  private async acquire(lockName: string, ttlMs: number): Promise<Acquisition> {
    checkName(lockName);
    const key = lockKey(lockName);
    const owner = newOwnerToken();
    const pending = this.provider.acquire(key, owner, ttlMs);
    try {
      if (await this.deadline(pending, 'acquire')) return { owner };
      this.logger.debug({ lockName }, 'agentcore-task: task lock already held');
      return 'held';
    } catch (error) {
      if (error instanceof DeadlineError) {
        // The command may still land once the backend answers: hand the lock straight back if it did.
        pending.then((won) => won && this.provider.release(key, owner)).catch(() => {});
      } else if (error instanceof ValidationError) {
        throw error;
      }
      this.logger.warn(
        { err: coerceError(error), lockName },
        'agentcore-task: cannot acquire task lock (failing closed)',
      );
      return 'failed';
    }
  }

  /** Releases with our owner token (`null`: force). Never throws: a lock that cannot be released expires by its TTL. */
  private async release(lockName: string, owner: string | null): Promise<boolean> {
    try {
      return await this.deadline(this.provider.release(lockKey(lockName), owner), 'release');
    } catch (error) {
      this.logger.warn(
        { err: coerceError(error), lockName },
        'agentcore-task: cannot release task lock; it expires by its TTL',
      );
      return false;
    }
  }

  /**
   * Extends the lock every `ttlMs / 2` (as BullMQ's lock manager), each extension only if we still hold it. Stops on
   * the returned function, on `close()`, or when the lock turns out to be lost.
   */
  private startRenewal(lockName: string, owner: string, ttlMs: number): () => void {
    const key = lockKey(lockName);
    const interval = Math.max(1, Math.floor(ttlMs / 2));
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.renewals.delete(stop);
    };
    const tick = async () => {
      try {
        const extended = await this.deadline(this.provider.extend(key, owner, ttlMs), 'extend');
        if (!extended && !stopped) {
          this.logger.warn(
            { lockName },
            'agentcore-task: task lock lost (expired or released by force); no longer renewing',
          );
          stop();
        }
      } catch (error) {
        // Try again at the next tick: the lock is still ours until its TTL runs out.
        if (!stopped) this.logger.warn({ err: coerceError(error), lockName }, 'agentcore-task: cannot renew task lock');
      }
      schedule();
    };
    const schedule = () => {
      if (stopped) return;
      timer = setTimeout(tick, interval);
      // A renewal alone must not keep the process alive.
      timer.unref();
    };
    this.renewals.add(stop);
    schedule();
    return stop;
  }

  private deadline<T>(promise: Promise<T>, operation: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineError(`lock ${operation} did not answer within ${this.operationTimeoutMs} ms`)),
        this.operationTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** The backend key of a lock name. */
export function lockKey(lockName: string): string {
  return LOCK_KEY_PREFIX + lockName;
}

function checkName(lockName: string): void {
  if (typeof lockName !== 'string' || lockName === '')
    throw new ValidationError('lockName must be a non-empty string', 'lockName');
  // Refused rather than replaced: two names must never become one lock.
  if (hasUnstorableText(lockName))
    throw new ValidationError('lockName must not contain NUL or unpaired surrogate characters', 'lockName');
}

function ttlOf(seconds: number, field: string): number {
  const ms = Math.round(seconds * 1000);
  if (!Number.isFinite(ms) || ms < 1) throw new ValidationError(`${field} must be a positive number of seconds`, field);
  return ms;
}

/** Unique per acquisition; host and pid tell an operator who holds a lock. Fits the 100-character owner column. */
function newOwnerToken(): string {
  return `${hostname().slice(0, 40)}:${process.pid}:${randomUUID()}`;
}
