/**
 * A benchmark server in its own process (so the load generator does not share its event loop): the REST API and
 * streams of one instance over Node http. Configured by environment: `DATABASE_URL`, optional `REDIS_URL` and
 * `REALTIME` (`postgres` | `redis` | `memory` | `false`), `MAX_STREAMS`, `MOUNT` (`express` for the Express mount). Prints `{"port":N}` once listening; stops on
 * SIGTERM. Callers authenticate with `Authorization: Bearer user:<id>` or `Bearer admin:<id>`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createAgentcoreTask, createHandler, type HttpUser, silentLogger } from '../../src/index.js';
import type { RealtimeOption } from '../../src/realtime/select.js';

const realtimeEnv = process.env.REALTIME;
const realtime: RealtimeOption | undefined =
  realtimeEnv === undefined ? undefined : realtimeEnv === 'false' ? false : (realtimeEnv as RealtimeOption);
const tasks = await createAgentcoreTask({
  database: process.env.DATABASE_URL,
  redis: process.env.REDIS_URL || undefined,
  realtime,
  logger: silentLogger,
  env: {},
});

/** `user:<id>` or `admin:<id>`, as the load generators send it. */
function benchUser(authorization: string | null): HttpUser | null {
  const m = /^Bearer (user|admin):(\d+)$/.exec(authorization ?? '');
  if (!m) return null;
  return { id: Number(m[2]), username: `${m[1]}${m[2]}`, isAdmin: m[1] === 'admin' };
}

const handlerOptions = {
  getUser: (request: Request) => benchUser(request.headers.get('authorization')),
  maxStreams: Number(process.env.MAX_STREAMS ?? 1000),
};
// MOUNT=express: the same API through the Express mount instead of the Web handler on @hono/node-server.
let server: Server;
if (process.env.MOUNT === 'express') {
  const { default: express } = await import('express');
  const { tasksExpress } = await import('../../src/http/express.js');
  const app = express();
  app.use('/', tasksExpress(tasks, handlerOptions));
  server = createServer(app);
} else server = createAdaptorServer({ fetch: createHandler(tasks, handlerOptions) }) as Server;
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);

process.once('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await tasks.close();
  process.exit(0);
});
