/** One held lock as a backend reports it. */
export interface LockEntry {
  /** The full key, e.g. `agentcore_task_task_lock:report_42`. */
  name: string;
  /** The owner token of whoever holds it. */
  owner: string;
  /** When it expires unless renewed; `null` when the backend reports no expiry. */
  expiresAt: Date | null;
}

/**
 * A lock backend: a key held by one owner token until it is released or its TTL runs out. Every method may reject
 * when the backend cannot be reached; `TaskLocks` turns that into "not acquired" (fail closed).
 * Implementations: `redis/`, `database/`, `memory/`.
 */
export interface LockProvider {
  /** Takes `key` for `owner` for `ttlMs`, or takes over an expired holder. `false` when someone else holds it. */
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Deletes `key` if `owner` holds it (compare-and-delete); `owner: null` deletes whoever holds it. */
  release(key: string, owner: string | null): Promise<boolean>;
  /** Resets the TTL of `key` to `ttlMs` if `owner` still holds it (compare-and-extend). */
  extend(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Whether anyone holds `key` now. */
  isLocked(key: string): Promise<boolean>;
  /** Every lock held now (for operators). */
  list(): Promise<LockEntry[]>;
  /** Releases what the provider itself opened (not the connection it was given). */
  close?(): Promise<void>;
}
