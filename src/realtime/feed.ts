/** What subscribers learn about a changed run: small on purpose (PostgreSQL NOTIFY payloads stop at 8000 bytes). */
export interface ExecutionChange {
  /** `created`, `updated` or `deleted`. */
  kind: 'created' | 'updated' | 'deleted';
  id: number;
  task_id: string;
  status: string;
  created_by_id: string | null;
}

/** Delivers changes made by any process to subscribers in this process. One implementation per folder. */
export interface ChangeFeed {
  publish(change: ExecutionChange): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (change: ExecutionChange) => void): () => void;
  close(): Promise<void>;
}

/** Single-process feed: subscribers see the changes made through this instance only. */
export class MemoryChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<(change: ExecutionChange) => void>();

  async publish(change: ExecutionChange): Promise<void> {
    this.deliver(change);
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
