// Mount the REST API, live streams and dashboard in an Express app.
import type { AddressInfo } from 'node:net';
import { createAgentcoreTask } from 'agentcore-task';
import { tasksExpress } from 'agentcore-task/express';
import express from 'express';

type AppUser = { id: number; username: string; isAdmin: boolean };

// Stand-in for your own authentication (passport, express-session, JWT…): it only has to set req.user.
const usersByToken: Record<string, AppUser> = {
  'alice-token': { id: 1, username: 'alice', isAdmin: false },
  'admin-token': { id: 9, username: 'admin', isAdmin: true },
};

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });
await tasks.registerTaskExecution({
  taskId: `welcome-${Date.now()}`,
  taskName: 'examples.welcome',
  module: 'examples',
  createdBy: { id: 1, username: 'alice' },
});

const app = express();
app.use((req: express.Request & { user?: AppUser }, _res, next) => {
  const token = req.headers.authorization?.replace(/^Bearer /, '');
  req.user = token ? usersByToken[token] : undefined;
  next();
});
app.use(
  '/api/v1/tasks',
  tasksExpress<express.Request & { user?: AppUser }>(tasks, {
    getUser: (_request, req) => req.user ?? null, // null → 401
  }),
);

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening on http://127.0.0.1:${port}/api/v1/tasks/dashboard/`);
});
process.on('SIGTERM', () => {
  server.close(() => void tasks.close());
  server.closeAllConnections();
});
