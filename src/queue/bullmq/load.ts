import { MissingDependencyError } from '../../errors.js';

type BullmqModule = typeof import('bullmq');
type IoredisModule = typeof import('ioredis');

let bullmq: Promise<BullmqModule> | undefined;

/**
 * Loads `bullmq` on first use. It is an optional peer: only the functions that construct queues or workers need it at
 * run time (the others only take the objects the host created), and a missing install fails with a message naming it.
 */
export function loadBullmq(purpose: string): Promise<BullmqModule> {
  bullmq ??= import('bullmq').catch((error: unknown) => {
    bullmq = undefined;
    throw new MissingDependencyError('bullmq', purpose, { cause: error });
  });
  return bullmq;
}

/** Loads `ioredis` (a dependency of bullmq) to open a connection from a URL. */
export async function loadIoredis(purpose: string): Promise<IoredisModule['Redis']> {
  try {
    const mod = await import('ioredis');
    return mod.Redis ?? (mod.default as unknown as IoredisModule['Redis']);
  } catch (error) {
    throw new MissingDependencyError('ioredis', purpose, { cause: error });
  }
}
