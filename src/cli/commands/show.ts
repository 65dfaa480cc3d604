import { serializeExecutionDetail } from '../../http/serialize.js';
import type { TaskExecution } from '../../types.js';
import { type CliIo, type Command, EXIT, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, hidePassword, withTasks } from '../database.js';
import { formatDuration, formatTime, json } from '../format.js';

const help = `Usage: agentcore-task show <task_id> [options]

Shows one run in full: status, timestamps, creator, args, result, error, stack trace, progress and metadata.

Options:
  ${DATABASE_HELP}
  --json           Print the run as GET executions/by-task-id/{task_id}/ returns it
  -h, --help       Show this help

Exit codes: 0 shown, 1 no run with this task id (or a database error), 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length === 0) throw new UsageError('missing <task_id>');
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const [taskId] = positionals;
  const url = databaseUrl(values.database, io.env);
  const execution = await withTasks(url, io, {}, (tasks) => tasks.tracker.getTask(taskId));
  if (!execution) {
    io.stderr(
      `agentcore-task show: no run with task_id ${JSON.stringify(taskId)} in ${hidePassword(url)}; "agentcore-task list --search <part of it>" finds runs by part of their task id or name\n`,
    );
    return EXIT.FAILURE;
  }
  io.stdout(values.json ? json(serializeExecutionDetail(execution)) : describe(execution));
  return EXIT.OK;
}

const indent = (text: string) => text.replace(/^/gm, '    ');
const pretty = (value: unknown) => JSON.stringify(value, null, 2);

/** The readable form: aligned fields, then the long parts (args, result, error, stack, metadata) as blocks. */
export function describe(run: TaskExecution): string {
  const { progress_percent: percent, progress_step: step, progress_message: message, ...rest } = run.metadata;
  const creator =
    run.createdById === null
      ? '- (system)'
      : `${run.createdByUsername ?? ''}${run.createdByUsername ? ' ' : ''}(id ${run.createdById})`;
  const fields: Array<[string, string]> = [
    ['Task ID', run.taskId],
    ['ID', String(run.id)],
    ['Task name', run.taskName],
    ['Module', run.module],
    ['Status', run.status],
    ['Created by', creator],
    ['Queue', run.queueName ?? '-'],
    ['Created', `${formatTime(run.createdAt)} UTC`],
    ['Started', run.startedAt ? `${formatTime(run.startedAt)} UTC` : '-'],
    ['Finished', run.finishedAt ? `${formatTime(run.finishedAt)} UTC` : '-'],
    ['Last update', `${formatTime(run.updatedAt)} UTC`],
    ['Duration', `${formatDuration(run.duration)}${run.isRunning ? ' (running)' : ''}`],
  ];
  if (percent !== undefined || step !== undefined || message !== undefined) {
    const parts = [percent !== undefined ? `${percent}%` : '', step ? `[${step}]` : '', message ? String(message) : ''];
    fields.push(['Progress', parts.filter(Boolean).join(' ')]);
  }
  const width = Math.max(...fields.map(([k]) => k.length));
  let out = fields.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
  const block = (title: string, body: string) => {
    out += `\n\n${title}:\n${indent(body)}`;
  };
  if (run.taskArgs.length > 0) block('Args', pretty(run.taskArgs));
  if (Object.keys(run.taskKwargs).length > 0) block('Kwargs', pretty(run.taskKwargs));
  if (run.result !== null && run.result !== undefined) block('Result', pretty(run.result));
  if (run.error) block('Error', run.error);
  if (run.traceback) block('Traceback', run.traceback);
  if (Object.keys(rest).length > 0) block('Metadata', pretty(rest));
  return `${out}\n`;
}

const show: Command = { help, run };
export default show;
