import { type BackfillResult, backfillAggregates } from '../../store/aggregates/index.js';
import { migrateToLatest, migrationsFor } from '../../store/migrations.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, hidePassword, withTasks } from '../database.js';
import { json, withProgress } from '../format.js';

const help = `Usage: agentcore-task migrate [options]

Creates or updates the tables of agentcore-task (agentcore_task_execution, agentcore_task_config,
agentcore_task_lock). Idempotent and safe to run from several processes at once. Applications apply the schema
on start anyway (createAgentcoreTask({ migrate: true }), the default); use this command when they run with
migrate: false, or before the first "list", "stats", "cleanup"….

On PostgreSQL, upgrading to the stats aggregates (migration 0004) over existing runs then counts those runs
online, in short transactions: writers wait at most one of them, never for the whole count. Until the count is
done, stats and list counts count the table. If this process stops, the next migrate (or application start)
counts again; while another process is counting, this one returns without waiting ("backfill": "elsewhere").

Options:
  ${DATABASE_HELP}
  --json           Print { "database", "applied": [...], "migrations": [...], "backfill" }
  -h, --help       Show this help

Progress of the count goes to stderr: a bar on a terminal, a line per second otherwise.
Exit codes: 0 up to date, 1 the database could not be reached or migrated, 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const url = databaseUrl(values.database, io.env);
  const started = Date.now();
  const { applied, all, backfill } = await withTasks(url, io, { migrate: true }, async (tasks) => {
    const applied = await migrateToLatest(tasks.db, tasks.dialect.name, { backfill: false });
    const backfill = await withProgress(io, 'counting runs into the stats aggregates', (onProgress) =>
      backfillAggregates(tasks.db, tasks.dialect.name, { onProgress }),
    );
    return { applied, all: Object.keys(migrationsFor(tasks.dialect.name)), backfill };
  });
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  if (values.json) {
    io.stdout(
      json({ database: hidePassword(url), applied, migrations: all, backfill: backfillJson(backfill, seconds) }),
    );
    return EXIT.OK;
  }
  if (applied.length === 0) io.stdout(`${hidePassword(url)}: up to date (${all.length} migrations)\n`);
  else io.stdout(`${hidePassword(url)}: applied ${applied.join(', ')}\n`);
  if (backfill.state === 'done')
    io.stdout(`Counted ${backfill.runs} existing runs into the stats aggregates (${seconds} s).\n`);
  else if (backfill.state === 'elsewhere')
    io.stdout(
      'Another process is counting the existing runs into the stats aggregates; stats count the table until it is done.\n',
    );
  return EXIT.OK;
}

/** `"none"`, `"elsewhere"`, or `{ "runs", "chunks", "seconds" }` when this command counted the runs. */
function backfillJson(backfill: BackfillResult, seconds: number) {
  return backfill.state === 'done' ? { runs: backfill.runs, chunks: backfill.chunks, seconds } : backfill.state;
}

const migrate: Command = { help, run };
export default migrate;
