// One PostgreSQL, no Redis (bullmq 6): the queue (BullMQ's PostgreSQL backend), the run history, the locks, the live
// updates (LISTEN/NOTIFY) and the maintenance schedules all live in one database.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createAgentcoreTask } from 'agentcore-task';
import { createMaintenanceWorker, dispatch, scheduleMaintenance, tracked } from 'agentcore-task/bullmq';
import { createPostgresBackend, type Job, Queue, Worker } from 'bullmq';

const database = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/app';
// BullMQ keeps its tables in a schema of their own; `migrate: true` creates or upgrades them on connect.
const queues = { connectionString: database, schema: process.env.BULLMQ_SCHEMA ?? 'bullmq' };
const connection = { ...queues, migrate: true };
const queueName = process.env.QUEUE_NAME ?? 'reports';

// No `redis`: locks default to the database, live updates to LISTEN/NOTIFY; `bullmq` makes sync read the queues.
const tasks = await createAgentcoreTask({ database, bullmq: { connection: queues } });

const queue = new Queue(queueName, { connection }, createPostgresBackend);
const worker = new Worker(
  queueName,
  tracked(
    tasks,
    async (job: Job<{ reportId: number }>, ctx) => {
      await ctx.progress({ percent: 50, message: 'Building', step: 'build' });
      return { rows: job.data.reportId * 6 };
    },
    { module: 'reports' },
  ),
  { connection },
  createPostgresBackend,
);

// Maintenance schedules on the same backend (or run `agentcore-task worker --queue-backend postgres`).
const maintenance = new Queue('agentcore-task-maintenance', { connection }, createPostgresBackend);
await scheduleMaintenance(tasks, maintenance);
await createMaintenanceWorker(tasks, { connection: queues });

// The API, its live streams and the dashboard.
const handle = tasks.handler({ prefix: '/api/v1/tasks', getUser: () => ({ id: 1, username: 'alice' }) });
const server = serve(
  { fetch: handle, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' },
  (info: AddressInfo) => console.log(`listening on http://127.0.0.1:${info.port}/api/v1/tasks/dashboard/`),
);

const completed = new Promise((resolve) => worker.once('completed', resolve));
const { job } = await dispatch(
  tasks,
  queue,
  'send_report',
  { reportId: 7 },
  {
    module: 'reports',
    createdBy: { id: 1, username: 'alice' },
  },
);
await completed;
const run = await tasks.tracker.getTask(String(job.id), { sync: true });
console.log(run?.status, run?.result);

process.on('SIGTERM', () => {
  server.close();
  void Promise.all([worker.close(), queue.close(), maintenance.close()]).then(() => tasks.close());
});
