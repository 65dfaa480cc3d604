// No bullmq import here: the core's options (createAgentcoreTask's `bullmq`) use these types, and the core's published
// types must compile for users who have no bullmq installed.

/**
 * BullMQ 6's PostgreSQL backend as a connection: the database URL and the schema BullMQ keeps its tables in. The same
 * shape as BullMQ's own pool config, so it can be handed to `createPostgresBackend` as is.
 */
export interface BullmqPostgresConnection {
  /** `postgres://…` of the database holding the queues. */
  connectionString: string;
  /** Schema of BullMQ's tables. @defaultValue BullMQ's (`'bullmq'`) */
  schema?: string;
}

/** `true` for a connection on BullMQ's PostgreSQL backend: a `postgres://` URL or `{ connectionString }`. */
export function isPostgresConnection(connection: unknown): connection is string | BullmqPostgresConnection {
  if (typeof connection === 'string') return /^postgres(ql)?:\/\//i.test(connection);
  return (
    typeof connection === 'object' &&
    connection !== null &&
    typeof (connection as BullmqPostgresConnection).connectionString === 'string'
  );
}
