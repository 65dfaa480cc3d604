import { parseQuery, statsQuerySchema } from '../../http/schemas.js';
import type { StatusCounts, TaskStats } from '../../types.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { asUsage, json, renderTable, truncate } from '../format.js';

const help = `Usage: agentcore-task stats [options]

Counts runs by status, by module and by task name (every run, whoever created it).

Filters (the REST stats parameters):
  --module M            Only runs of this module
  --task-name NAME      Only runs of this task name
  --created-by ID       Only runs created by this user id
  --start-date DATE     created_at >= DATE (ISO date or datetime)
  --end-date DATE       created_at <= DATE (a date-only value includes that whole day)
  --granularity G       Add a time series: day (24 hours), month (30 days) or year (12 months)

Options:
  ${DATABASE_HELP}
  --json           Print the counts as GET executions/stats/ returns them
  -h, --help       Show this help

Exit codes: 0 counted, 1 database error, 2 bad usage.`;

const QUERY_FLAGS = {
  module: 'module',
  'task-name': 'task_name',
  'start-date': 'start_date',
  'end-date': 'end_date',
  granularity: 'granularity',
} as const;

const COLUMNS = ['total', 'pending', 'started', 'success', 'failure', 'retry', 'revoked'] as const;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
    'created-by': { type: 'string' },
    module: { type: 'string' },
    'task-name': { type: 'string' },
    'start-date': { type: 'string' },
    'end-date': { type: 'string' },
    granularity: { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const params = new URLSearchParams();
  for (const [flag, param] of Object.entries(QUERY_FLAGS)) {
    const value = values[flag as keyof typeof QUERY_FLAGS];
    if (typeof value === 'string') params.set(param, value);
  }
  const flagOf = Object.fromEntries(Object.entries(QUERY_FLAGS).map(([flag, param]) => [param, `--${flag}`]));
  // created_by is read by the CLI itself: any user id, not only the API's integer ids.
  const query = await asUsage(
    () => parseQuery(statsQuerySchema.omit({ created_by: true, my_tasks: true }), params),
    flagOf,
  );
  const url = databaseUrl(values.database, io.env);
  const stats = await withTasks(url, io, {}, (tasks) =>
    asUsage(
      () =>
        tasks.tracker.getTaskStats({
          module: query.module,
          taskName: query.task_name,
          startDate: query.start_date,
          endDate: query.end_date,
          granularity: query.granularity,
          ...(values['created-by'] ? { createdById: values['created-by'] } : {}),
        }),
      flagOf,
    ),
  );
  io.stdout(values.json ? json(stats) : describe(stats));
  return EXIT.OK;
}

const countsRow = (name: string, counts: StatusCounts) => [name, ...COLUMNS.map((c) => String(counts[c]))];
const HEADERS = COLUMNS.map((c) => c.toUpperCase());

/** The readable form: totals, then one table per grouping, then the series as bars. */
export function describe(stats: TaskStats): string {
  let out = renderTable(['', ...HEADERS], [countsRow('All runs', stats)]);
  const group = (title: string, groups: Record<string, StatusCounts>) => {
    const names = Object.keys(groups).sort((a, b) => groups[b].total - groups[a].total || a.localeCompare(b));
    if (names.length === 0) return;
    out += `\n${renderTable(
      [title, ...HEADERS],
      names.map((n) => countsRow(truncate(n, 48), groups[n])),
    )}`;
  };
  group('MODULE', stats.by_module);
  group('TASK NAME', stats.by_task_name);
  if (stats.series) {
    const max = Math.max(1, ...stats.series.map((b) => b.count));
    out += `\n${renderTable(
      ['BUCKET', 'COUNT', ''],
      stats.series.map((b) => [b.bucket, String(b.count), '#'.repeat(Math.ceil((b.count / max) * 40))]),
    )}`;
  }
  return out;
}

const stats: Command = { help, run };
export default stats;
