import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { type AgentcoreTask, createAgentcoreTask, DEFAULT_DATABASE_URL } from '../../create.js';
import type { GetUser } from '../../http/context.js';
import { createHandler } from '../../http/handler.js';
import { useBullmqSync } from '../../queue/bullmq/source.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, redactUrl, UsageError } from '../command.js';
import { explainDatabaseError } from '../database.js';
import { createDemoUsers, DEMO_DATABASE_URL, demoBanner, type RunningDemo, startDemo } from '../demo.js';
import { bearerTokenAuth, readUsersFile } from '../users.js';

export const SERVE_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  prefix: '/api/v1/tasks',
  /** How long open requests get to finish after SIGTERM/SIGINT before their connections are closed. */
  shutdownGraceMs: 5_000,
});

const help = `Usage: agentcore-task serve [options]

Runs the REST API standalone over HTTP.

Options:
  --database URL   postgres://…, mysql://…, sqlite:PATH (default: $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --redis URL      Redis for locks, live events and BullMQ sync (default: $REDIS_URL, else none)
  --host HOST      Interface to listen on (default: ${SERVE_DEFAULTS.host})
  --port PORT      Port (default: $PORT or ${SERVE_DEFAULTS.port}; 0 picks a free one)
  --prefix PATH    Where the API lives (default: ${SERVE_DEFAULTS.prefix})
  --users FILE     JSON array of [{ "token": "…", "id": 1, "username": "alice", "is_admin": false }];
                   requests authenticate with "Authorization: Bearer <token>". Without it every request is 401.
  --demo           Demo mode: two users and an admin with fresh tokens (printed), and demo tasks running in the
                   background (progress, successes, a failure, a duplicate skipped by the lock, a timed-out run);
                   through BullMQ with --redis, else the plain tracker API. Database: --database, else
                   ${DEMO_DATABASE_URL} ($DATABASE_URL and $REDIS_URL are not used).
                   Give it a database of its own: it adds demo runs, and its timeout job marks any run
                   silent for 5 minutes as FAILURE.
  -h, --help       Show this help

SIGTERM or SIGINT stops accepting requests, lets open ones finish, flushes writes and exits 0.
Exit codes: 0 stopped cleanly, 1 could not start (database unreachable, port in use), 2 bad usage or users file.`;

/** Options of `startServer`. */
export interface StartServerOptions {
  tasks: AgentcoreTask;
  getUser: GetUser<unknown>;
  host: string;
  port: number;
  prefix: string;
}

/** A listening server. `close()` stops it (open requests get `shutdownGraceMs`) but does not close `tasks`. */
export interface RunningServer {
  /** Base URL of the API, e.g. `http://127.0.0.1:8000/api/v1/tasks`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the handler of `tasks` over HTTP (used by `serve`, reusable by other commands such as a demo). */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const handler = createHandler(options.tasks, { getUser: options.getUser, prefix: options.prefix });
  // A plain HTTP/1.1 server (no serverOptions), so the node:http type is the right one.
  const server = createAdaptorServer({ fetch: handler }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${options.prefix}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), SERVE_DEFAULTS.shutdownGraceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    redis: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    prefix: { type: 'string' },
    users: { type: 'string' },
    demo: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const port = intOption('port', values.port ?? io.env.PORT, { max: 65535 }) ?? SERVE_DEFAULTS.port;
  const prefix = normalizeCliPrefix(values.prefix ?? SERVE_DEFAULTS.prefix);
  const host = values.host ?? SERVE_DEFAULTS.host;
  if (values.demo && values.users) throw new UsageError('--demo creates its own users: leave out --users');
  const users = values.demo ? createDemoUsers() : values.users ? await readUsersFile(values.users) : [];
  if (!values.users && !values.demo) io.stderr('warning: no --users file: every request will be answered 401\n');

  // Empty variables count as unset (as in docker-compose files with `DATABASE_URL=`). The demo ignores them, so
  // `npm run demo` always starts the same way.
  const env = values.demo ? {} : io.env;
  const database = values.database || env.DATABASE_URL || (values.demo ? DEMO_DATABASE_URL : DEFAULT_DATABASE_URL);
  const redis = values.redis || env.REDIS_URL || undefined;
  const tasks = await createAgentcoreTask({ database, ...(redis ? { redis } : {}), env: io.env }).catch((error) => {
    throw explainDatabaseError(error, database);
  });
  // With Redis, sync (POST executions/{id}/sync/, sync=true) reads the BullMQ queue named by each run's queue_name.
  if (redis) useBullmqSync(tasks, { connection: redis });
  let server: RunningServer;
  try {
    server = await startServer({ tasks, getUser: bearerTokenAuth(users), host, port, prefix });
  } catch (error) {
    await tasks.close();
    throw error;
  }
  const backends = `database ${redactUrl(database)}${redis ? `, redis ${redactUrl(redis)} (BullMQ sync on)` : ''}`;
  io.stdout(`agentcore-task API listening on ${server.url}/ (${backends}, ${users.length} users)\n`);
  io.stdout(`OpenAPI document: ${server.url}/openapi.json\n`);
  let demo: RunningDemo | undefined;
  if (values.demo) {
    try {
      demo = await startDemo(tasks, { redis, users, warn: (message) => io.stderr(`${message}\n`) });
    } catch (error) {
      await server.close();
      await tasks.close();
      throw error;
    }
    io.stdout(demoBanner({ url: server.url, users, database: redactUrl(database), mode: demo.mode }));
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  io.stderr(`${signal}: shutting down (again to force)\n`);
  const force = () => process.exit(EXIT.FAILURE);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await demo?.stop();
  // Stop accepting first; then close the instance, which ends open streams (so their connections finish instead of
  // waiting out the grace period) and flushes buffered writes; then wait for the last connections.
  const serverClosed = server.close();
  await tasks.close();
  await serverClosed;
  io.stderr('stopped\n');
  return EXIT.OK;
}

function normalizeCliPrefix(prefix: string): string {
  if (!/^\/?[A-Za-z0-9._~\-/]*$/.test(prefix))
    throw new UsageError(`--prefix must be a URL path, got ${JSON.stringify(prefix)}`);
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

const serve: Command = { help, run };
export default serve;
