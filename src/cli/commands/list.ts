import { myTasksQuerySchema, parseMetadataFilters, parseQuery } from '../../http/schemas.js';
import { serializeExecution } from '../../http/serialize.js';
import type { ExecutionFilters, TaskExecution } from '../../types.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { asUsage, formatDuration, formatTime, json, renderTable, truncate } from '../format.js';

const help = `Usage: agentcore-task list [options]

Lists runs, newest first, as a table (or the REST API's list JSON with --json). Every run is listed, whoever
created it (the CLI has the database's rights, not a user's).

Filters (the REST list parameters):
  --module M            Only runs of this module
  --task-name NAME      Only runs of this task name
  --status STATUS       PENDING, STARTED, SUCCESS, FAILURE, RETRY or REVOKED
  --created-by ID       Only runs created by this user id
  --search TEXT         Case-insensitive substring of the task name or task id
  --start-date DATE     created_at >= DATE (ISO date or datetime, UTC when no offset)
  --end-date DATE       created_at <= DATE (a date-only value includes that whole day)
  --metadata KEY=VALUE  Exact match on a top-level metadata key (repeatable)
  --ordering FIELD      created_at, started_at, finished_at, status or task_name; "-" for descending
                        (default: -created_at)
  --page N              Page number (default 1)
  --page-size N         Runs per page (default 10, at most 100)

Options:
  ${DATABASE_HELP}
  --json           Print { "count", "next", "previous", "results": [...] } as GET executions/ returns it;
                   next and previous are relative URLs of the same query ("?page=2&status=FAILURE") or null
  -h, --help       Show this help

Exit codes: 0 listed (even when nothing matches), 1 database error or a page past the end, 2 bad usage.`;

/** Flag → REST query parameter, for the flags that are one. */
const QUERY_FLAGS = {
  module: 'module',
  'task-name': 'task_name',
  status: 'status',
  search: 'search',
  'start-date': 'start_date',
  'end-date': 'end_date',
  ordering: 'ordering',
  page: 'page',
  'page-size': 'page_size',
} as const;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
    'created-by': { type: 'string' },
    metadata: { type: 'string', multiple: true },
    module: { type: 'string' },
    'task-name': { type: 'string' },
    status: { type: 'string' },
    search: { type: 'string' },
    'start-date': { type: 'string' },
    'end-date': { type: 'string' },
    ordering: { type: 'string' },
    page: { type: 'string' },
    'page-size': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);

  // The flags become the REST query, validated by the same schema as GET executions/ (messages name the flag).
  const params = new URLSearchParams();
  for (const [flag, param] of Object.entries(QUERY_FLAGS)) {
    const value = values[flag as keyof typeof QUERY_FLAGS];
    if (typeof value === 'string') params.set(param, param === 'status' ? value.toUpperCase() : value);
  }
  for (const pair of values.metadata ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--metadata must be KEY=VALUE, got ${JSON.stringify(pair)}`);
    params.append(`metadata.${pair.slice(0, eq)}`, pair.slice(eq + 1));
  }
  const flagOf = Object.fromEntries(Object.entries(QUERY_FLAGS).map(([flag, param]) => [param, `--${flag}`]));
  const query = await asUsage(() => parseQuery(myTasksQuerySchema, params), flagOf);
  const filters: ExecutionFilters = {
    module: query.module,
    taskName: query.task_name,
    status: query.status,
    search: query.search,
    startDate: query.start_date,
    endDate: query.end_date,
    metadata: await asUsage(() => parseMetadataFilters(params), { metadata: '--metadata' }),
  };
  if (values['created-by']) filters.createdById = values['created-by'];

  const url = databaseUrl(values.database, io.env);
  const page = await withTasks(url, io, {}, (tasks) =>
    asUsage(
      () =>
        tasks.tracker.listTaskExecutions(filters, {
          page: query.page,
          pageSize: query.page_size,
          ordering: query.ordering,
        }),
      flagOf,
    ),
  );
  const pages = Math.max(1, Math.ceil(page.count / page.pageSize));
  if (page.page > pages)
    throw new Error(
      `--page ${page.page} is past the end: ${page.count} runs fill ${pages} page(s) of ${page.pageSize}`,
    );

  if (values.json) {
    const link = (n: number) => {
      const next = new URLSearchParams(params);
      if (n === 1) next.delete('page');
      else next.set('page', String(n));
      return `?${next.toString()}`;
    };
    io.stdout(
      json({
        count: page.count,
        next: page.page < pages ? link(page.page + 1) : null,
        previous: page.page > 1 ? link(page.page - 1) : null,
        results: page.results.map((run) => serializeExecution(run)),
      }),
    );
    return EXIT.OK;
  }
  if (page.count === 0) {
    io.stdout('No runs match.\n');
    return EXIT.OK;
  }
  io.stdout(
    renderTable(
      ['ID', 'TASK ID', 'TASK NAME', 'MODULE', 'STATUS', 'PROGRESS', 'CREATED (UTC)', 'DURATION', 'BY'],
      page.results.map(tableRow),
    ),
  );
  const first = (page.page - 1) * page.pageSize + 1;
  const more = page.page < pages ? `; next: --page ${page.page + 1}` : '';
  io.stdout(
    `\n${first}-${first + page.results.length - 1} of ${page.count} runs (page ${page.page} of ${pages}${more})\n`,
  );
  return EXIT.OK;
}

/** `45% rendering` for an unfinished run that reported progress, else `-`. */
export function progressCell(run: TaskExecution): string {
  const { progress_percent: percent, progress_step: step, progress_message: message } = run.metadata;
  if (typeof percent !== 'number' || run.isCompleted) return '-';
  const label = typeof step === 'string' ? step : typeof message === 'string' ? message : '';
  return truncate(`${percent}%${label ? ` ${label}` : ''}`, 28);
}

function tableRow(run: TaskExecution): string[] {
  return [
    String(run.id),
    run.taskId,
    truncate(run.taskName, 40),
    truncate(run.module, 20),
    run.status,
    progressCell(run),
    formatTime(run.createdAt),
    formatDuration(run.duration),
    run.createdById === null ? '-' : truncate(run.createdByUsername ?? String(run.createdById), 16),
  ];
}

const list: Command = { help, run };
export default list;
