/** What subscribers learn about a changed run: small on purpose (PostgreSQL NOTIFY payloads stop at 8000 bytes). */
export interface ExecutionChange {
  /** `created`, `updated` or `deleted`. */
  kind: 'created' | 'updated' | 'deleted';
  id: number;
  task_id: string;
  status: string;
  created_by_id: string | null;
}

/** A run removed by cleanup: what `publishDeleted` announces (subscribers get it as a change of kind `deleted`). */
export type DeletedExecution = Omit<ExecutionChange, 'kind'>;

/** Delivers changes made by any process to subscribers in this process. One implementation per folder. */
export interface ChangeFeed {
  publish(change: ExecutionChange): Promise<void>;
  /**
   * Announces runs deleted together (one cleanup batch). Subscribers get one `deleted` change per run, exactly as if
   * each had been published; a cross-process feed carries the whole batch as a few compact messages instead.
   */
  publishDeleted(runs: readonly DeletedExecution[]): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (change: ExecutionChange) => void): () => void;
  close(): Promise<void>;
}

/** Deleted runs handled between two yields to the event loop: a cleanup batch holds thousands. */
export const DELETED_SLICE = 250;

/** Lets waiting I/O callbacks run (a writer's replies) before continuing a long piece of work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Single-process feed: subscribers see the changes made through this instance only. */
export class MemoryChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<(change: ExecutionChange) => void>();

  async publish(change: ExecutionChange): Promise<void> {
    this.deliver(change);
  }

  /** Delivers one `deleted` change per run, in slices with the event loop free in between. */
  async publishDeleted(runs: readonly DeletedExecution[]): Promise<void> {
    for (let i = 0; i < runs.length; i++) {
      if (i > 0 && i % DELETED_SLICE === 0) await yieldToEventLoop();
      this.deliver({ kind: 'deleted', ...runs[i] });
    }
  }

  /** Calls every listener; a throwing listener does not stop the others. */
  deliver(change: ExecutionChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a subscriber's bug must not break the writer
      }
    }
  }

  subscribe(listener: (change: ExecutionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
