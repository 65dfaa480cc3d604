import type { LockEntry, LockProvider } from '../provider.js';

/**
 * Locks in a `Map` of this process: nothing to set up, but they protect nothing across processes. For tests, scripts
 * and single-process deployments. Expired entries are dropped when they are next looked at.
 */
export class MemoryLockProvider implements LockProvider {
  private readonly locks = new Map<string, { owner: string; expiresAt: number }>();

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if (this.holder(key)) return false;
    this.locks.set(key, { owner, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async release(key: string, owner: string | null): Promise<boolean> {
    const held = this.holder(key);
    if (!held || (owner !== null && held.owner !== owner)) return false;
    this.locks.delete(key);
    return true;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.holder(key);
    if (held?.owner !== owner) return false;
    held.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async isLocked(key: string): Promise<boolean> {
    return this.holder(key) !== undefined;
  }

  async list(): Promise<LockEntry[]> {
    const entries: LockEntry[] = [];
    for (const key of [...this.locks.keys()].sort()) {
      const held = this.holder(key);
      if (held) entries.push({ name: key, owner: held.owner, expiresAt: new Date(held.expiresAt) });
    }
    return entries;
  }

  async close(): Promise<void> {
    this.locks.clear();
  }

  private holder(key: string) {
    const held = this.locks.get(key);
    if (held && held.expiresAt <= Date.now()) {
      this.locks.delete(key);
      return undefined;
    }
    return held;
  }
}
