import type { BullmqConnection } from '../queue/bullmq/backend.js';
import { redisOptionsFromUrl } from '../queue/bullmq/connection.js';
import { redactUrl, UsageError } from './command.js';

/** The flags every command that reads BullMQ queues takes (`parseCommandArgs` options). */
export const QUEUE_BACKEND_OPTIONS = {
  redis: { type: 'string' },
  'queue-backend': { type: 'string' },
  'bullmq-schema': { type: 'string' },
} as const;

/** Help lines of those flags. */
export const QUEUE_BACKEND_HELP = `--queue-backend NAME     redis (default) or postgres: BullMQ 6 on the --database PostgreSQL, no Redis
  --bullmq-schema NAME     Schema of BullMQ's tables with --queue-backend postgres (default: bullmq)`;

/** Where a command's BullMQ queues live. */
export type QueueBackend =
  | { kind: 'redis'; redis: string; connection: BullmqConnection }
  | { kind: 'postgres'; connection: { connectionString: string; schema?: string } }
  | { kind: 'none' };

/**
 * Reads `--redis`, `--queue-backend` and `--bullmq-schema`. On Redis the URL comes from `--redis` or `$REDIS_URL`
 * (`required`: a usage error without one); with `--queue-backend postgres` the queues live in the `--database`
 * PostgreSQL and `$REDIS_URL` is not used, so one PostgreSQL is the whole setup.
 */
export function queueBackendFrom(
  values: { redis?: string; 'queue-backend'?: string; 'bullmq-schema'?: string },
  database: string,
  env: NodeJS.ProcessEnv,
  required = false,
): QueueBackend {
  const backend = values['queue-backend'] ?? 'redis';
  if (backend !== 'redis' && backend !== 'postgres')
    throw new UsageError(`--queue-backend must be redis or postgres, got ${JSON.stringify(backend)}`);
  if (backend === 'postgres') {
    if (values.redis) throw new UsageError('--redis and --queue-backend postgres exclude each other');
    if (!/^postgres(ql)?:\/\//i.test(database))
      throw new UsageError('--queue-backend postgres needs a postgres:// --database (the queues live there)');
    const schema = values['bullmq-schema'];
    if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
      throw new UsageError('--bullmq-schema must be a simple identifier (letters, digits, underscores)');
    return { kind: 'postgres', connection: { connectionString: database, ...(schema ? { schema } : {}) } };
  }
  if (values['bullmq-schema'] !== undefined) throw new UsageError('--bullmq-schema needs --queue-backend postgres');
  const redis = values.redis || env.REDIS_URL || undefined;
  if (!redis) {
    if (required) throw new UsageError('--redis URL (or $REDIS_URL) is required: the maintenance jobs run on BullMQ');
    return { kind: 'none' };
  }
  if (!/^rediss?:\/\//i.test(redis))
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redactUrl(redis))}`);
  try {
    return { kind: 'redis', redis, connection: redisOptionsFromUrl(redis) };
  } catch (error) {
    throw new UsageError(`--redis: ${(error as Error).message}`);
  }
}

/**
 * The `createAgentcoreTask` options of a queue backend: Redis (locks, live events and BullMQ sync on it), or BullMQ
 * on PostgreSQL (the default sync source reads those queues; locks and live events stay in the database).
 */
export function instanceOptionsFor(backend: QueueBackend) {
  if (backend.kind === 'redis') return { redis: backend.redis };
  if (backend.kind === 'postgres') return { bullmq: { connection: backend.connection } };
  return {};
}

/** How a command names its queue backend in its start-up line. */
export function describeQueueBackend(backend: QueueBackend): string {
  if (backend.kind === 'redis') return `redis ${redactUrl(backend.redis)} (BullMQ sync on)`;
  if (backend.kind === 'postgres') return 'BullMQ on the same PostgreSQL (sync on), no Redis';
  return 'no queue backend';
}
