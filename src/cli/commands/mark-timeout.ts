import { useBullmqSync } from '../../queue/bullmq/source.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { asUsage, json } from '../format.js';
import { QUEUE_BACKEND_OPTIONS, queueBackendFrom } from '../queue-backend.js';

const help = `Usage: agentcore-task mark-timeout [options]

Marks as FAILURE the STARTED runs that started more than the timeout ago and have shown no sign of life
(no update, progress or heartbeat) for as long, with error "Task timeout (exceeded N minutes, …)".
With --redis (or --queue-backend postgres: BullMQ 6 in the --database PostgreSQL), unfinished runs are first synced
from BullMQ, and a run BullMQ reports active is never marked.
Runs now, whatever AGENTCORE_TASK_MARK_TIMEOUT_ENABLED says (that setting governs the schedule).

Options:
  --timeout-minutes N    Silence that counts as dead, in minutes (default: setting timeoutMinutes,
                         AGENTCORE_TASK_TIMEOUT_MINUTES, 10)
  --redis URL            Redis of the BullMQ queues, to sync from them first (default: $REDIS_URL, else none)
  --queue-backend NAME   redis (default) or postgres: BullMQ 6 in the --database PostgreSQL, no Redis
  --bullmq-schema NAME   Schema of BullMQ's tables with --queue-backend postgres (default: bullmq)
  ${DATABASE_HELP}
  --json                 Print { "updated_count", "timeout_minutes", "cutoff", "synced_count", "synced_updated_count" }
                         (with "skipped": true, "reason": "invalid_timeout_minutes" when the timeout setting is ≤ 0)
  -h, --help             Show this help

Exit codes: 0 done (also when nothing was marked), 1 database or Redis error, 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    ...QUEUE_BACKEND_OPTIONS,
    json: { type: 'boolean' },
    'timeout-minutes': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const timeoutMinutes = intOption('timeout-minutes', values['timeout-minutes'], { min: 1 });
  const url = databaseUrl(values.database, io.env);
  const backend = queueBackendFrom(values, url, io.env);
  const redis = backend.kind === 'redis' ? backend.redis : undefined;
  // publish: servers streaming to dashboards see the runs turn FAILURE.
  const result = await withTasks(url, io, { publish: true, redis }, async (tasks) => {
    if (backend.kind !== 'none')
      useBullmqSync(tasks, { connection: backend.kind === 'redis' ? backend.redis : backend.connection });
    return asUsage(() => tasks.maintenance.markTimedOutExecutions({ timeoutMinutes }), {
      timeoutMinutes: '--timeout-minutes',
    });
  });
  if (values.json) {
    io.stdout(json(result));
    return EXIT.OK;
  }
  if (result.skipped) {
    // Only a setting can get here (the option refuses N < 1): say which value made the job a no-op.
    io.stdout(`Skipped: timeout of ${result.timeout_minutes} minutes is not positive; no run was marked.\n`);
    return EXIT.OK;
  }
  const synced =
    backend.kind !== 'none'
      ? ` (synced ${result.synced_count} unfinished runs from BullMQ first, ${result.synced_updated_count} changed)`
      : '';
  io.stdout(
    `Marked ${result.updated_count} runs as timed out: STARTED and silent since before ${result.cutoff} (${result.timeout_minutes} minutes)${synced}.\n`,
  );
  return EXIT.OK;
}

const markTimeout: Command = { help, run };
export default markTimeout;
