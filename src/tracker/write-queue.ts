import { Retrier, type RetryPolicy } from './retry.js';

/** Retry policy of the write buffer. */
export type WriteQueueOptions = RetryPolicy;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs writes in order per key (per task) and retries the ones that fail because the database is unreachable, with
 * exponential backoff. A caller is acknowledged (its promise resolves, with `undefined`) as soon as its write is held
 * in the bounded buffer, so a database outage never blocks or throws into the user's task; a write that was
 * acknowledged is retried until it lands or `flush()` gives up at its deadline (and says so in the log). The write
 * path of MariaDB and SQLite; PostgreSQL batches with `WriteBatcher`.
 */
export class WriteQueue {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly retrier: Retrier;

  constructor(private readonly options: WriteQueueOptions) {
    this.retrier = new Retrier(options);
  }

  /** Number of writes acknowledged but not yet written. */
  get pending(): number {
    return this.retrier.buffered;
  }

  /** Runs `op` after earlier writes of `key`. See the class comment for when the promise resolves. */
  run<T>(key: string, op: () => Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      let settled = false;
      let counted = false;
      const acknowledge = () => {
        if (settled || !this.retrier.hold()) return;
        settled = true;
        counted = true;
        resolve(undefined);
      };
      // While the database is known to be down, acknowledge at once: the write waits in the buffer, not the caller.
      if (this.retrier.degraded) acknowledge();
      const previous = this.chains.get(key) ?? Promise.resolve();
      const chain = previous
        .then(async () => {
          try {
            const value = await this.retrier.run(op, acknowledge);
            if (!settled) {
              settled = true;
              resolve(value);
            }
          } catch (error) {
            if (!settled) {
              settled = true;
              // Only this write failed: the key's later writes still run (the chain goes on below).
              this.options.logger.warn(
                { err: error, taskId: key },
                `agentcore-task: the database refused a write of run ${key}`,
              );
              reject(error);
            } else {
              this.options.logger.error(
                { err: error, taskId: key },
                'agentcore-task: a buffered write could not be stored',
              );
            }
          }
        })
        .finally(() => {
          if (counted) this.retrier.release();
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
        this.retrier.abandon = true;
        this.options.logger.error({ pending: this.pending }, 'agentcore-task: gave up on buffered writes at close');
        return false;
      }
      await Promise.race([Promise.allSettled([...this.chains.values()]), sleep(Math.min(left, 1000))]);
    }
    return true;
  }
}
