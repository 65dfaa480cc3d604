import type { RedisLike } from '../../redis.js';
import type { LockEntry, LockProvider } from '../provider.js';
import { extendLockScript, type LuaScript, releaseLockScript } from './scripts.js';

/** Keys `list()` scans for per SCAN step. */
const SCAN_COUNT = 200;

export interface RedisLockProviderOptions {
  /** The client; the provider never closes it. */
  client: RedisLike;
  /** Only keys under this prefix are listed by `list()`. */
  prefix: string;
}

/**
 * Redis locks: `SET key token NX PX ttl` takes a lock atomically, the token marks the owner, and the two Lua scripts
 * in `scripts.ts` release and extend only when the token matches. One key per lock, so it also works on a Redis
 * Cluster (except `list()`, which scans the node the client is connected to).
 */
export class RedisLockProvider implements LockProvider {
  private readonly client: RedisLike;
  private readonly prefix: string;

  constructor(options: RedisLockProviderOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if ((await this.client.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK') return true;
    // ioredis resends a command cut off by a reconnect: if the first send did land, the key already holds our token.
    return (await this.client.get(key)) === owner;
  }

  async release(key: string, owner: string | null): Promise<boolean> {
    if (owner === null) return (await this.client.del(key)) > 0;
    return Number(await this.run(releaseLockScript, [key], [owner])) === 1;
  }

  async extend(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.run(extendLockScript, [key], [owner, ttlMs])) === 1;
  }

  async isLocked(key: string): Promise<boolean> {
    return (await this.client.exists(key)) > 0;
  }

  async list(): Promise<LockEntry[]> {
    const pattern = `${escapeGlob(this.prefix)}*`;
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      for (const key of batch) keys.add(key);
      cursor = next;
    } while (cursor !== '0');
    const entries = await Promise.all(
      [...keys].map(async (key): Promise<LockEntry | undefined> => {
        const [owner, ttl] = await Promise.all([this.client.get(key), this.client.pttl(key)]);
        // A key that expired between SCAN and GET is not held any more.
        if (owner === null || ttl === -2) return undefined;
        return { name: key, owner, expiresAt: ttl >= 0 ? new Date(Date.now() + ttl) : null };
      }),
    );
    return entries.filter((e): e is LockEntry => e !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** EVALSHA first (no script text on the wire); EVAL once when Redis does not know the script yet. */
  private async run(script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha1, script.numberOfKeys, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.source, script.numberOfKeys, ...keys, ...args);
    }
  }
}

/** Escapes the glob characters of SCAN MATCH, so a prefix matches literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
