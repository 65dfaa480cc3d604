// Register the REST API, live streams and dashboard as a Fastify plugin.
import { createAgentcoreTask } from 'agentcore-task';
import { tasksFastify } from 'agentcore-task/fastify';
import Fastify from 'fastify';

// Stand-in for your own authentication: map bearer tokens to users.
const usersByToken = new Map([
  ['alice-token', { id: 1, username: 'alice', isAdmin: false }],
  ['admin-token', { id: 9, username: 'admin', isAdmin: true }],
]);

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });
await tasks.registerTaskExecution({
  taskId: `welcome-${Date.now()}`,
  taskName: 'examples.welcome',
  module: 'examples',
  createdBy: { id: 1, username: 'alice' },
});

const app = Fastify();
await app.register(tasksFastify, {
  tasks,
  prefix: '/api/v1/tasks',
  // `request` is a Web Request (headers, cookies); Fastify's own request comes second.
  getUser: (request) => usersByToken.get(request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '') ?? null,
});
app.addHook('onClose', () => tasks.close());

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
console.log(`listening on ${address}/api/v1/tasks/dashboard/`);
process.on('SIGTERM', () => void app.close());
