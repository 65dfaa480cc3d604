// BullMQ: dispatch a job, process it with a tracked worker, schedule the maintenance jobs.
import { createAgentcoreTask } from 'agentcore-task';
import { createMaintenanceWorker, dispatch, scheduleMaintenance, tracked } from 'agentcore-task/bullmq';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connection = { url: redisUrl, maxRetriesPerRequest: null };
const queueName = process.env.QUEUE_NAME ?? 'reports';

const tasks = await createAgentcoreTask({
  database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db',
  redis: redisUrl, // Redis locks, cross-process live updates and BullMQ sync (getTask({ sync: true }), timeout job)
});

// 1. Dispatch: the run is recorded as PENDING before the job is added, so the worker never races it.
const queue = new Queue(queueName, { connection });
const { job } = await dispatch(
  tasks,
  queue,
  'send_report',
  { reportId: 7 },
  {
    module: 'reports',
    createdBy: { id: 1, username: 'alice' },
    metadata: { source: 'manual_trigger' },
    jobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  },
);

// 2. Worker: STARTED, heartbeats while running, progress, SUCCESS with the return value — or RETRY between attempts
//    and FAILURE with the stack at the end. The error is rethrown, so BullMQ's own retries are untouched.
const worker = new Worker(
  queueName,
  tracked(
    tasks,
    async (job: Job<{ reportId: number }>, ctx) => {
      await ctx.progress({ percent: 10, message: 'Loading data', step: 'load' });
      const rows = job.data.reportId * 6; // your work here
      await ctx.progress({ percent: 80, message: 'Sending', step: 'send' });
      return { rows };
    },
    { module: 'reports' },
  ),
  { connection },
);

// 3. Maintenance: cleanup (daily 02:00) and timeout marking (every 30 min) as BullMQ job schedulers, from the
//    AGENTCORE_TASK_* settings, and the worker that runs them (or run `agentcore-task worker`).
const maintenance = new Queue('agentcore-task-maintenance', { connection });
await scheduleMaintenance(tasks, maintenance);
await createMaintenanceWorker(tasks, { connection: redisUrl });

const events = new QueueEvents(queueName, { connection });
await job.waitUntilFinished(events);
const run = await tasks.tracker.getTask(job.id!, { sync: true });
console.log(run?.status, run?.result, run?.metadata.progress_percent); // SUCCESS { rows: 42 } 80

await worker.close();
await events.close();
await queue.close();
await maintenance.close();
await tasks.close();
