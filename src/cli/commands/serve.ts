import cluster, { type Worker } from 'node:cluster';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import { type AgentcoreTask, createAgentcoreTask, DEFAULT_DATABASE_URL } from '../../create.js';
import type { GetUser, HandlerOptions } from '../../http/context.js';
import { createNativeHandler } from '../../http/handler.js';
import { localOrigin } from '../../http/node.js';
import { useBullmqSync } from '../../queue/bullmq/source.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, redactUrl, UsageError } from '../command.js';
import { explainDatabaseError } from '../database.js';
import { createDemoUsers, DEMO_DATABASE_URL, demoBanner, type RunningDemo, startDemo } from '../demo.js';
import {
  describeQueueBackend,
  instanceOptionsFor,
  QUEUE_BACKEND_OPTIONS,
  type QueueBackend,
  queueBackendFrom,
} from '../queue-backend.js';
import { bearerTokenAuth, readUsersFile } from '../users.js';

export const SERVE_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  prefix: '/api/v1/tasks',
  /** How long open requests get to finish after SIGTERM/SIGINT before their connections are closed. */
  shutdownGraceMs: 5_000,
});

/** Set in the environment of the processes `serve --workers N` forks. */
const WORKER_ENV = 'AGENTCORE_TASK_SERVE_WORKER';
/** The scrape token of `GET metrics`, when `--metrics-token` is not given. */
const METRICS_TOKEN_ENV = 'AGENTCORE_TASK_METRICS_TOKEN';

const help = `Usage: agentcore-task serve [options]

Runs the REST API standalone over HTTP.

Options:
  --database URL   postgres://…, mysql://…, sqlite:PATH (default: $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --redis URL      Redis for locks, live events and BullMQ sync (default: $REDIS_URL, else none)
  --queue-backend NAME
                   redis (default) or postgres: BullMQ 6 in the --database PostgreSQL (sync on), no Redis
  --bullmq-schema NAME
                   Schema of BullMQ's tables with --queue-backend postgres (default: bullmq)
  --host HOST      Interface to listen on (default: ${SERVE_DEFAULTS.host})
  --port PORT      Port (default: $PORT or ${SERVE_DEFAULTS.port}; 0 picks a free one)
  --prefix PATH    Where the API lives (default: ${SERVE_DEFAULTS.prefix})
  --users FILE     JSON array of [{ "token": "…", "id": 1, "username": "alice", "is_admin": false }];
                   requests authenticate with "Authorization: Bearer <token>". Without it every request is 401.
                   Reloaded on SIGHUP (a bad file is reported and the users before it kept).
  --workers N      Processes serving the one port (node:cluster; default: the number of cores). Streams reach
                   every process through the change feed, so more than 1 needs PostgreSQL or --redis; with
                   SQLite or MySQL without Redis, and with --demo, 1 is used (with a warning).
  --metrics-token TOKEN
                   Lets Prometheus read GET metrics with "Authorization: Bearer TOKEN" and no user
                   (default: ${METRICS_TOKEN_ENV})
  --public-url URL The URL clients reach this server at (behind a proxy), for the absolute links the API returns
                   (next/previous, the OpenAPI server). Default: the address the connection came in on.
  --trust-proxy    Read the client-facing scheme and host from X-Forwarded-Proto/X-Forwarded-Host (only behind
                   a proxy that sets them).
  --demo           Demo mode: two users and an admin with fresh tokens (printed), and demo tasks running in the
                   background (progress, successes, a failure, a duplicate skipped by the lock, a timed-out run);
                   through BullMQ with --redis, else the plain tracker API. Database: --database, else
                   ${DEMO_DATABASE_URL} ($DATABASE_URL and $REDIS_URL are not used).
                   Give it a database of its own: it adds demo runs, and its timeout job marks any run
                   silent for 5 minutes as FAILURE.
  -h, --help       Show this help

GET <prefix>/healthz (process alive) and GET <prefix>/readyz (database and Redis reachable, else 503) need no token.
SIGTERM or SIGINT stops accepting requests, lets open ones finish, flushes writes and exits 0 (every worker).
SIGHUP reloads the --users file (in every worker).
Exit codes: 0 stopped cleanly, 1 could not start (database unreachable, port in use), 2 bad usage or users file.`;

/** Options of `startServer`. */
export interface StartServerOptions {
  tasks: AgentcoreTask;
  getUser: GetUser<unknown>;
  host: string;
  port: number;
  prefix: string;
  /** More handler options (metrics token, public URL, limits). */
  handler?: Omit<HandlerOptions<unknown>, 'getUser' | 'prefix'>;
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
  const handler = createNativeHandler(options.tasks, {
    ...options.handler,
    getUser: options.getUser,
    prefix: options.prefix,
  });
  // A plain HTTP/1.1 server (no serverOptions), so the node:http type is the right one. Links are built on the
  // address the connection came in on (or --public-url), never on the client's Host header.
  const server = createAdaptorServer({
    fetch: (request: Request, env: { incoming?: unknown }) => {
      const incoming = env?.incoming as IncomingMessage | undefined;
      return handler(request, undefined, { localOrigin: incoming?.socket ? localOrigin(incoming) : undefined });
    },
  }) as Server;
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
    ...QUEUE_BACKEND_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    prefix: { type: 'string' },
    users: { type: 'string' },
    demo: { type: 'boolean' },
    workers: { type: 'string' },
    'metrics-token': { type: 'string' },
    'public-url': { type: 'string' },
    'trust-proxy': { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const port = intOption('port', values.port ?? io.env.PORT, { max: 65535 }) ?? SERVE_DEFAULTS.port;
  const prefix = normalizeCliPrefix(values.prefix ?? SERVE_DEFAULTS.prefix);
  const host = values.host ?? SERVE_DEFAULTS.host;
  const requestedWorkers = intOption('workers', values.workers, { min: 1, max: 1024 });
  const publicUrl = values['public-url'];
  if (publicUrl !== undefined && !/^https?:\/\/[^/]/.test(publicUrl))
    throw new UsageError(`--public-url must be an http(s) URL, got ${JSON.stringify(publicUrl)}`);
  if (values.demo && values.users) throw new UsageError('--demo creates its own users: leave out --users');
  const users = values.demo ? createDemoUsers() : values.users ? await readUsersFile(values.users) : [];
  const isWorker = cluster.isWorker && io.env[WORKER_ENV] === '1';
  if (!values.users && !values.demo && !isWorker)
    io.stderr('warning: no --users file: every request will be answered 401\n');

  // Empty variables count as unset (as in docker-compose files with `DATABASE_URL=`). The demo ignores them, so
  // `npm run demo` always starts the same way.
  const env = values.demo ? {} : io.env;
  const database = values.database || env.DATABASE_URL || (values.demo ? DEMO_DATABASE_URL : DEFAULT_DATABASE_URL);
  const backend = queueBackendFrom(values, database, env);
  const redis = backend.kind === 'redis' ? backend.redis : undefined;
  const metricsToken = values['metrics-token'] || io.env[METRICS_TOKEN_ENV] || undefined;
  const handlerOptions = { metricsToken, publicUrl, trustProxy: values['trust-proxy'] === true };

  // Several processes need a change feed that crosses processes (PostgreSQL LISTEN/NOTIFY or Redis pub/sub): with
  // the in-memory one, a stream would only see the changes its own process makes.
  let workers = isWorker ? 1 : (requestedWorkers ?? availableParallelism());
  const crossProcessFeed = Boolean(redis) || /^postgres(ql)?:/i.test(database);
  if (workers > 1 && (values.demo || !crossProcessFeed)) {
    if (requestedWorkers !== undefined && requestedWorkers > 1)
      io.stderr(
        `warning: --workers ${requestedWorkers} needs PostgreSQL or --redis for live streams${values.demo ? ' and no --demo' : ''}; serving with 1 worker\n`,
      );
    workers = 1;
  }
  if (workers > 1) return runPrimary({ io, workers, database, backend, users: values.users, host, port, prefix });

  const tasks = await createAgentcoreTask({
    database,
    ...instanceOptionsFor(backend),
    env: io.env,
    // The primary of `--workers` migrated once already: the workers starting together must not race to.
    ...(isWorker ? { migrate: false } : {}),
  }).catch((error) => {
    throw explainDatabaseError(error, database);
  });
  // With Redis, sync (POST executions/{id}/sync/, sync=true) reads the BullMQ queue named by each run's queue_name.
  if (redis) useBullmqSync(tasks, { connection: redis });
  const auth = bearerTokenAuth(users);
  let server: RunningServer;
  try {
    server = await startServer({ tasks, getUser: auth, host, port, prefix, handler: handlerOptions });
  } catch (error) {
    await tasks.close();
    throw error;
  }
  const backends = `database ${redactUrl(database)}${backend.kind === 'none' ? '' : `, ${describeQueueBackend(backend)}`}`;
  if (isWorker) process.send?.({ type: 'agentcore-task:listening', url: server.url });
  else {
    io.stdout(`agentcore-task API listening on ${server.url}/ (${backends}, ${users.length} users)\n`);
    io.stdout(`OpenAPI document: ${server.url}/openapi.json\n`);
  }
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

  // SIGHUP: read the users file again; a token left out is refused from the next request on.
  const reload = () => {
    if (!values.users) return;
    readUsersFile(values.users).then(
      (next) => {
        auth.replace(next);
        io.stderr(`SIGHUP: reloaded ${values.users} (${next.length} users)\n`);
      },
      (error: Error) => io.stderr(`SIGHUP: kept the previous users: ${error.message}\n`),
    );
  };
  process.on('SIGHUP', reload);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  process.off('SIGHUP', reload);
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

interface PrimaryOptions {
  io: CliIo;
  workers: number;
  database: string;
  backend: QueueBackend;
  users: string | undefined;
  host: string;
  port: number;
  prefix: string;
}

/**
 * The primary of `--workers N`: migrates once, forks N processes that run `serve` on the one port (node:cluster hands
 * them the connections), replaces a worker that dies, forwards SIGHUP, and on SIGTERM/SIGINT has each drain and exits
 * when all have.
 */
async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { io, workers, database, backend } = options;
  const migrating = await createAgentcoreTask({ database, ...instanceOptionsFor(backend), env: io.env }).catch(
    (error) => {
      throw explainDatabaseError(error, database);
    },
  );
  await migrating.close();

  cluster.setupPrimary({ exec: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv });
  const live = new Set<Worker>();
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork({ ...io.env, [WORKER_ENV]: '1' });
    live.add(worker);
    return worker;
  };
  const started = await Promise.allSettled(
    Array.from({ length: workers }, () => {
      const worker = fork();
      return new Promise<string>((resolve, reject) => {
        worker.on('message', (message: { type?: string; url?: string }) => {
          if (message?.type === 'agentcore-task:listening') resolve(String(message.url));
        });
        worker.once('exit', (code) => reject(new Error(`a worker exited with code ${code} while starting`)));
      });
    }),
  );
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    stopping = true;
    for (const worker of live) worker.process.kill('SIGTERM');
    await Promise.all([...live].map((w) => (w.isDead() ? undefined : new Promise((r) => w.once('exit', r)))));
    io.stderr(`could not start: ${(failed as PromiseRejectedResult).reason.message}\n`);
    return EXIT.FAILURE;
  }
  const url = (started[0] as PromiseFulfilledResult<string>).value;
  const backends = `database ${redactUrl(database)}${backend.kind === 'none' ? '' : `, ${describeQueueBackend(backend)}`}`;
  io.stdout(`agentcore-task API listening on ${url}/ (${backends}, ${workers} workers)\n`);
  io.stdout(`OpenAPI document: ${url}/openapi.json\n`);

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    if (stopping) return;
    io.stderr(`a worker stopped (${signal ?? `code ${code}`}); starting another\n`);
    fork();
  });
  const hup = () => {
    for (const worker of live) worker.process.kill('SIGHUP');
  };
  process.on('SIGHUP', hup);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  stopping = true;
  process.off('SIGHUP', hup);
  io.stderr(`${signal}: shutting down ${live.size} workers\n`);
  const exits = [...live].map((w) => (w.isDead() ? Promise.resolve() : new Promise((r) => w.once('exit', r))));
  for (const worker of live) worker.process.kill('SIGTERM');
  await Promise.all(exits);
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
