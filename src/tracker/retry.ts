import type { Logger } from '../logger.js';

/** How writes are retried while the database is unreachable. */
export interface RetryPolicy {
  /** `true` when a failure means "database unreachable, try again later". */
  isTransient: (error: unknown) => boolean;
  /** Writes held for retry at most; beyond it callers wait (back-pressure) instead of being acknowledged. @defaultValue `10000` */
  maxBuffered?: number;
  /** @defaultValue `100` */
  initialDelayMs?: number;
  /** @defaultValue `5000` */
  maxDelayMs?: number;
  logger: Logger;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The retry loop and the bounded buffer count shared by the write paths (`WriteQueue`, `WriteBatcher`): an operation
 * that fails because the database is unreachable is retried with exponential backoff until it lands, or until
 * `abandon` is set at close.
 */
export class Retrier {
  /** The last write failed for a transient reason: new writes are acknowledged at once. */
  degraded = false;
  /** Set when `close()` gives up: failing writes are no longer retried. */
  abandon = false;
  /** Writes acknowledged and not yet stored. */
  buffered = 0;
  private readonly maxBuffered: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly policy: RetryPolicy) {
    this.maxBuffered = policy.maxBuffered ?? 10_000;
    this.initialDelayMs = policy.initialDelayMs ?? 100;
    this.maxDelayMs = policy.maxDelayMs ?? 5_000;
  }

  /** Counts one more held write; `false` when the buffer is full (the caller then waits instead). */
  hold(): boolean {
    if (this.buffered >= this.maxBuffered) return false;
    this.buffered++;
    return true;
  }

  /** A held write landed or was given up. */
  release(): void {
    this.buffered--;
  }

  /** Runs `op` until it succeeds or fails for a non-transient reason; `onTransient` runs before each wait. */
  async run<T>(op: () => Promise<T>, onTransient: () => void): Promise<T> {
    let delay = this.initialDelayMs;
    for (;;) {
      try {
        const value = await op();
        this.degraded = false;
        return value;
      } catch (error) {
        if (!this.policy.isTransient(error) || this.abandon) throw error;
        this.degraded = true;
        onTransient();
        await sleep(delay);
        delay = Math.min(delay * 2, this.maxDelayMs);
      }
    }
  }
}
