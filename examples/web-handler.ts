// The Web-standard handler (Request in, Response out) on Node's http server; the same `handle` works as Bun's
// `fetch`, in a Hono route (`app.all('/api/v1/tasks/*', (c) => handle(c.req.raw))`) or a Next.js route handler.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createAgentcoreTask } from 'agentcore-task';

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });
await tasks.registerTaskExecution({
  taskId: `welcome-${Date.now()}`,
  taskName: 'examples.welcome',
  module: 'examples',
  createdBy: { id: 1, username: 'alice' },
});

// Stand-in for your own authentication (a session cookie, a JWT…).
const userFromRequest = (request: Request) => {
  const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
  if (token === 'alice-token') return { id: 1, username: 'alice' };
  if (token === 'admin-token') return { id: 9, username: 'admin', isAdmin: true };
  return null;
};

const handle = tasks.handler({ prefix: '/api/v1/tasks', getUser: userFromRequest });
const server = serve(
  { fetch: handle, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
  (info: AddressInfo) => console.log(`listening on http://127.0.0.1:${info.port}/api/v1/tasks/dashboard/`),
);
process.on('SIGTERM', () => server.close(() => void tasks.close()));
