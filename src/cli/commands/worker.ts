import { createAgentcoreTask, DEFAULT_DATABASE_URL } from '../../create.js';
import type { MaintenanceSchedule } from '../../maintenance/index.js';
import { backendFor } from '../../queue/bullmq/backend.js';
import { loadBullmq } from '../../queue/bullmq/load.js';
import {
  createMaintenanceWorker,
  DEFAULT_MAINTENANCE_QUEUE,
  type ScheduledMaintenance,
  scheduleMaintenance,
} from '../../queue/bullmq/maintenance.js';
import { useBullmqSync } from '../../queue/bullmq/source.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, redactUrl, UsageError } from '../command.js';
import { instanceOptionsFor, QUEUE_BACKEND_HELP, QUEUE_BACKEND_OPTIONS, queueBackendFrom } from '../queue-backend.js';

/** How often the worker reads the settings again and re-applies the schedules when they changed. */
const DEFAULT_REFRESH_SECONDS = 60;

const help = `Usage: agentcore-task worker [options]

Runs the maintenance jobs (retention cleanup, timeout marking) on BullMQ: upserts the job schedulers
agentcore-task-cleanup-old-executions and agentcore-task-mark-timed-out-executions from the settings
(AGENTCORE_TASK_* variables and run-time overrides; removed when disabled) and processes them. Timeout marking
syncs unfinished runs from BullMQ first. Safe to run on several machines: each scheduled run happens once.

With --queue-backend postgres (bullmq 6), the queues live in the --database PostgreSQL (BullMQ's PostgreSQL
backend, schema --bullmq-schema): one PostgreSQL and no Redis at all; $REDIS_URL is not used.

Options:
  --redis URL              Redis of the BullMQ queues (required on Redis; default: $REDIS_URL)
  ${QUEUE_BACKEND_HELP}
  --database URL           postgres://…, mysql://…, sqlite:PATH (default: $DATABASE_URL or ${DEFAULT_DATABASE_URL})
  --queue NAME             Queue of the maintenance jobs (default: ${DEFAULT_MAINTENANCE_QUEUE})
  --refresh-seconds N      Re-read the settings and update the schedules this often (default: ${DEFAULT_REFRESH_SECONDS})
  -h, --help               Show this help

SIGTERM or SIGINT lets a running job finish, then exits 0.
Exit codes: 0 stopped cleanly, 1 could not start (database, Redis or bullmq 6 missing), 2 bad usage.`;

function describe(name: string, entry: MaintenanceSchedule | null): string {
  if (!entry) return `${name}: disabled`;
  return entry.pattern ? `${name}: cron "${entry.pattern}" (UTC)` : `${name}: every ${entry.every! / 3_600_000} h`;
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    ...QUEUE_BACKEND_OPTIONS,
    database: { type: 'string' },
    queue: { type: 'string' },
    'refresh-seconds': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const database = values.database ?? io.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const backend = queueBackendFrom(values, database, io.env, true);
  if (backend.kind === 'none') throw new UsageError('a queue backend is required');
  const { connection } = backend;
  const redis = backend.kind === 'redis' ? backend.redis : undefined;
  const queueName = values.queue ?? DEFAULT_MAINTENANCE_QUEUE;
  if (queueName === '' || queueName.includes(':')) throw new UsageError('--queue must be a non-empty name without ":"');
  const refreshSeconds = intOption('refresh-seconds', values['refresh-seconds'], { min: 1 }) ?? DEFAULT_REFRESH_SECONDS;

  // On PostgreSQL the instance's own defaults fit: locks in the database, live events by LISTEN/NOTIFY.
  const tasks = await createAgentcoreTask({
    database,
    env: io.env,
    ...instanceOptionsFor(backend),
  });
  const { Queue } = await loadBullmq('The maintenance worker');
  const { opts, factory } = await backendFor(connection, 'The maintenance worker', { migrate: true });
  // bullmq 6 takes the backend factory last (PostgreSQL); on Redis there is none.
  const queue = new Queue(queueName, opts as never, factory as never);
  queue.on('error', (error) => io.stderr(`queue error: ${error.message}\n`));
  tasks.onClose(() => queue.close());
  try {
    if (redis) useBullmqSync(tasks, { connection: redis });
    const scheduled = await scheduleMaintenance(tasks, queue);
    let applied = JSON.stringify(scheduled);
    const worker = await createMaintenanceWorker(tasks, { connection, queueName });
    worker.on('completed', (job, result) => io.stdout(`${job.name} ${job.id}: ${JSON.stringify(result)}\n`));
    worker.on('failed', (job, error) => io.stderr(`${job?.name} ${job?.id} failed: ${error.message}\n`));
    io.stdout(
      `agentcore-task maintenance worker on queue ${queueName} (database ${redactUrl(database)}, ${redis ? `redis ${redactUrl(redis)}` : 'BullMQ on the same PostgreSQL, no Redis'})\n`,
    );
    report(scheduled);

    // Settings may change at run time (config API): re-apply the schedules when they do.
    const refresher = setInterval(() => {
      scheduleMaintenance(tasks, queue)
        .then((now) => {
          const key = JSON.stringify(now);
          if (key !== applied) {
            applied = key;
            io.stdout('schedules changed:\n');
            report(now);
          }
        })
        .catch((error) => io.stderr(`could not refresh the schedules: ${(error as Error).message}\n`));
    }, refreshSeconds * 1000);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    io.stderr(`${signal}: finishing the running job, then stopping (again to force)\n`);
    const force = () => process.exit(EXIT.FAILURE);
    process.once('SIGTERM', force);
    process.once('SIGINT', force);
    clearInterval(refresher);
    await worker.close();
  } finally {
    await tasks.close();
  }
  io.stderr('stopped\n');
  return EXIT.OK;

  function report(scheduled: ScheduledMaintenance): void {
    io.stdout(`  ${describe('cleanup_old_task_executions', scheduled.cleanup)}\n`);
    io.stdout(`  ${describe('mark_timed_out_task_executions', scheduled.markTimeout)}\n`);
  }
}

const worker: Command = { help, run };
export default worker;
