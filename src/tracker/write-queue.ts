import type { Logger } from '../logger.js';

/** Retry policy of the write buffer. */
export interface WriteQueueOptions {
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
 * Runs writes in order per key (per task) and retries the ones that fail because the database is unreachable, with
 * exponential backoff. A caller is acknowledged (its promise resolves, with `undefined`) as soon as its write is held
 * in the bounded buffer, so a database outage never blocks or throws into the user's task; a write that was
 * acknowledged is retried until it lands or `flush()` gives up at its deadline (and says so in the log).
 */
export class WriteQueue {
  private readonly chains = new Map<string, Promise<void>>();
  private buffered = 0;
  private degraded = false;
  private readonly maxBuffered: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private abandon = false;

  constructor(private readonly options: WriteQueueOptions) {
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.initialDelayMs = options.initialDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
  }

  /** Number of writes acknowledged but not yet written. */
  get pending(): number {
    return this.buffered;
  }

  /** Runs `op` after earlier writes of `key`. See the class comment for when the promise resolves. */
  run<T>(key: string, op: () => Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let settled = false;
      let counted = false;
      const acknowledge = () => {
        if (settled || this.buffered >= this.maxBuffered) return;
        settled = true;
        counted = true;
        this.buffered++;
        resolve(undefined);
      };
      // While the database is known to be down, acknowledge at once: the write waits in the buffer, not the caller.
      if (this.degraded) acknowledge();
      const previous = this.chains.get(key) ?? Promise.resolve();
      const chain = previous
        .then(async () => {
          let delay = this.initialDelayMs;
          for (;;) {
            try {
              const value = await op();
              this.degraded = false;
              if (!settled) {
                settled = true;
                resolve(value);
              }
              return;
            } catch (error) {
              if (!this.options.isTransient(error) || this.abandon) {
                if (!settled) {
                  settled = true;
                  reject(error);
                } else {
                  this.options.logger.error(
                    { err: error, key },
                    'agentcore-task: a buffered write could not be stored',
                  );
                }
                return;
              }
              this.degraded = true;
              acknowledge();
              await sleep(delay);
              delay = Math.min(delay * 2, this.maxDelayMs);
            }
          }
        })
        .finally(() => {
          if (counted) this.buffered--;
          if (this.chains.get(key) === chain) this.chains.delete(key);
        });
      this.chains.set(key, chain);
    });
  }

  /** Waits until every write has landed, or `timeoutMs` passed (then buffered writes are given up, with an error log). */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.chains.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.abandon = true;
        this.options.logger.error({ pending: this.buffered }, 'agentcore-task: gave up on buffered writes at close');
        return false;
      }
      await Promise.race([Promise.allSettled([...this.chains.values()]), sleep(Math.min(left, 1000))]);
    }
    return true;
  }
}
