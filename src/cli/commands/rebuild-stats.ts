import { DEFAULT_REBUILD_BATCH_SIZE, recountAggregates } from '../../store/aggregates/index.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { json, withProgress } from '../format.js';

const help = `Usage: agentcore-task rebuild-stats [options]

Recounts the stats aggregates (agentcore_task_stats) from the runs in agentcore_task_execution. Triggers keep
them exact on every write; run this after rows were changed with the triggers off (a MySQL/MariaDB TRUNCATE, a
restore or replication that skips triggers), or to recover from any doubt. Online: runs are recounted first in
chunks of whole hours, one short transaction each, holding off writers of those runs only for that transaction
(readers never wait); then the daily and all-time rows are recomputed from the hourly ones; last, each creator's
rows in chunks of creators. Also drops rows that count zero, and ends a pending count of migration 0004
(PostgreSQL): stats read the aggregates again afterwards.

Options:
  --batch-size N   Runs per chunk, 1 to 1000000 (default: ${DEFAULT_REBUILD_BATCH_SIZE})
  ${DATABASE_HELP}
  --json           Print { "runs", "chunks", "seconds" }
  -h, --help       Show this help

Progress goes to stderr: a bar on a terminal, a line per second otherwise.
Exit codes: 0 rebuilt, 1 database error, 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
    'batch-size': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const batchSize = intOption('batch-size', values['batch-size'], { min: 1, max: 1_000_000 });
  const url = databaseUrl(values.database, io.env);
  const started = Date.now();
  const result = await withTasks(url, io, {}, (tasks) =>
    withProgress(io, 'recounting runs', (onProgress) =>
      recountAggregates(tasks.db, tasks.dialect.name, { batchSize, onProgress }),
    ),
  );
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  if (values.json) {
    io.stdout(json({ ...result, seconds }));
    return EXIT.OK;
  }
  io.stdout(`Recounted ${result.runs} runs in ${result.chunks} transactions (${seconds} s).\n`);
  return EXIT.OK;
}

const rebuildStats: Command = { help, run };
export default rebuildStats;
