import { migrateToLatest, migrationsFor } from '../../store/migrations.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, hidePassword, withTasks } from '../database.js';
import { json } from '../format.js';

const help = `Usage: agentcore-task migrate [options]

Creates or updates the tables of agentcore-task (agentcore_task_execution, agentcore_task_config,
agentcore_task_lock). Idempotent and safe to run from several processes at once. Applications apply the schema
on start anyway (createAgentcoreTask({ migrate: true }), the default); use this command when they run with
migrate: false, or before the first "list", "stats", "cleanup"….

Options:
  ${DATABASE_HELP}
  --json           Print { "database", "applied": [...], "migrations": [...] }
  -h, --help       Show this help

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
  const { applied, all } = await withTasks(url, io, { migrate: true }, async (tasks) => ({
    applied: await migrateToLatest(tasks.db, tasks.dialect.name),
    all: Object.keys(migrationsFor(tasks.dialect.name)),
  }));
  if (values.json) {
    io.stdout(json({ database: hidePassword(url), applied, migrations: all }));
    return EXIT.OK;
  }
  if (applied.length === 0) io.stdout(`${hidePassword(url)}: up to date (${all.length} migrations)\n`);
  else io.stdout(`${hidePassword(url)}: applied ${applied.join(', ')}\n`);
  return EXIT.OK;
}

const migrate: Command = { help, run };
export default migrate;
