import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, run with EVALSHA (EVAL on `NOSCRIPT`, e.g. after a Redis restart). */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
  readonly numberOfKeys: number;
}

function script(name: string, numberOfKeys: number, source: string): LuaScript {
  return { name, numberOfKeys, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** Compare-and-delete: only the holder's token frees the lock, so a late release never frees a newer owner's lock. */
export const releaseLockScript = script(
  'releaseLock',
  1,
  `--[[
  Deletes a lock when the given owner holds it.

  Input:
    KEYS[1] lock key
    ARGV[1] owner token

  Output:
    1 - released
    0 - not held by this owner (expired, taken over, or never held)
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
`,
);

/** Compare-and-extend: renewal keeps only our own lock alive, never one that expired and was taken over. */
export const extendLockScript = script(
  'extendLock',
  1,
  `--[[
  Resets the TTL of a lock when the given owner holds it.

  Input:
    KEYS[1] lock key
    ARGV[1] owner token
    ARGV[2] new TTL in milliseconds

  Output:
    1 - extended
    0 - not held by this owner (expired, taken over, or never held)
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
`,
);
