import type { BullmqConnection } from '../../queue/bullmq/backend.js';
import { DEFAULT_RECORDER_MODULE, recordQueues } from '../../queue/bullmq/recorder.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, redactUrl, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, explainDatabaseError, hidePassword, openTasks } from '../database.js';

const help = `Usage: agentcore-task record --queues NAME[,NAME…] [options]

Records every run of existing BullMQ queues without touching their workers (any language BullMQ supports):
STARTED, progress, SUCCESS with the return value, RETRY between attempts, FAILURE with the reason and stack.
Job name → task_name, job id → task_id, queue → queue_name. Reads each queue's event stream (QueueEvents),
reconciles from the queue's job sets at start and after any gap, and stores its position in each stream in the
database (agentcore_task_config), so a restarted recorder misses nothing. Several recorders of one queue write
the same rows (nothing is recorded twice).

Options:
  --queues LIST            Comma-separated queue names (required)
  --redis URL              Redis of the queues (default: $REDIS_URL)
  --bullmq-postgres URL    Or: bullmq 6's PostgreSQL backend holding the queues
  --bullmq-schema NAME     Schema of BullMQ's tables with --bullmq-postgres (default: BullMQ's)
  --prefix PREFIX          BullMQ key prefix on Redis (default: bull)
  --module NAME            module of the runs it registers (default: ${DEFAULT_RECORDER_MODULE})
  --without-data           Do not record job data as arguments (saves one read per job)
  ${DATABASE_HELP}
  -h, --help               Show this help

SIGTERM or SIGINT lets the writes of the events already read land, stores the positions, then exits 0.
Exit codes: 0 stopped cleanly, 1 could not start (database or queue unreachable), 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    queues: { type: 'string' },
    redis: { type: 'string' },
    'bullmq-postgres': { type: 'string' },
    'bullmq-schema': { type: 'string' },
    prefix: { type: 'string' },
    module: { type: 'string' },
    'without-data': { type: 'boolean' },
    database: { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const queues = (values.queues ?? '')
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '');
  if (queues.length === 0) throw new UsageError('--queues NAME[,NAME…] is required');
  for (const q of queues) if (q.includes(':')) throw new UsageError(`--queues: ${JSON.stringify(q)} contains ":"`);
  if (new Set(queues).size !== queues.length) throw new UsageError('--queues names a queue twice');
  const postgres = values['bullmq-postgres'];
  if (postgres && values.redis) throw new UsageError('give --redis or --bullmq-postgres, not both');
  let connection: BullmqConnection;
  let where: string;
  let redis: string | undefined;
  if (postgres) {
    if (!/^postgres(ql)?:\/\//i.test(postgres))
      throw new UsageError(`--bullmq-postgres must be a postgres:// URL, got ${JSON.stringify(redactUrl(postgres))}`);
    if (values.prefix) throw new UsageError('--prefix is for Redis; with --bullmq-postgres use --bullmq-schema');
    const schema = values['bullmq-schema'];
    connection = schema ? { connectionString: postgres, schema } : postgres;
    where = `bullmq-postgres ${hidePassword(postgres)}${schema ? ` schema ${schema}` : ''}`;
  } else {
    if (values['bullmq-schema']) throw new UsageError('--bullmq-schema needs --bullmq-postgres');
    redis = values.redis || io.env.REDIS_URL || undefined;
    if (!redis) throw new UsageError('--redis URL (or $REDIS_URL) or --bullmq-postgres URL is required');
    if (!/^rediss?:\/\//i.test(redis))
      throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redactUrl(redis))}`);
    connection = redis;
    where = `redis ${hidePassword(redis)}`;
  }
  const module = values.module ?? DEFAULT_RECORDER_MODULE;
  if (module.length > 100) throw new UsageError('--module must be at most 100 characters');
  const url = databaseUrl(values.database, io.env);

  // publish: servers streaming to dashboards see the recorded runs live.
  const tasks = await openTasks(url, io, { publish: true, redis });
  try {
    const recorder = recordQueues(tasks, {
      queues,
      connection,
      module,
      jobData: !values['without-data'],
      ...(values.prefix ? { prefix: values.prefix } : {}),
    });
    io.stdout(`agentcore-task recorder on queues ${queues.join(', ')} (${where}, database ${hidePassword(url)})\n`);
    const stop = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const started = await Promise.race([recorder.ready.then((r) => ({ summaries: r })), stop]);
    if (typeof started === 'object') {
      started.summaries.forEach((s, i) => {
        io.stdout(`  ${queues[i]}: reconciled ${s.jobs} jobs from the queue's sets; following its events\n`);
      });
    }
    const signal = typeof started === 'string' ? started : await stop;
    io.stderr(`${signal}: letting the writes in flight land, then stopping (again to force)\n`);
    const force = () => process.exit(EXIT.FAILURE);
    process.once('SIGTERM', force);
    process.once('SIGINT', force);
    await recorder.close();
  } catch (error) {
    throw explainDatabaseError(error, url);
  } finally {
    await tasks.close();
  }
  io.stderr('stopped\n');
  return EXIT.OK;
}

const record: Command = { help, run };
export default record;
