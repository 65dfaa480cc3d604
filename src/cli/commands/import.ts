import { createReadStream, statSync } from 'node:fs';
import { DEFAULT_IMPORT_BATCH_SIZE, importJsonLines, MAX_IMPORT_BATCH_SIZE } from '../../store/import.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { json, Progress, progressSink } from '../format.js';

const help = `Usage: agentcore-task import [options] FILE|-

Imports runs from JSON Lines (FILE, or standard input with -): one run per line in the REST detail format
(task_id, task_name, module, status, created_at, started_at, finished_at, task_args, task_kwargs, result, error,
traceback, created_by_id, created_by_username, metadata; queue_name and updated_at when present; id, duration,
is_completed, is_running and created_by are ignored). Timestamps are ISO 8601 (no offset means UTC).

The file is read as a stream and written in batches. A run whose task_id is already stored is left alone, so
importing the same file twice changes nothing. Values are stored as the tracker stores them: NUL and lone surrogates
in text become U+FFFD, a task_id, queue_name or created_by_id holding them is a bad line, payloads larger than 1 MiB
become a truncation marker. See docs/SCALING.md ("Import") for the export query of the Django module's table.

A bad line (not JSON, a missing or invalid field) is reported on stderr with its line number and field, and
skipped; the rest is imported. With --strict the import stops at the first bad line instead (the lines before it
are imported; fix the line and run again).

Options:
  --batch-size N   Runs per batch (one statement), 1 to ${MAX_IMPORT_BATCH_SIZE} (default: ${DEFAULT_IMPORT_BATCH_SIZE})
  --strict         Stop at the first bad line
  ${DATABASE_HELP}
  --json           Print { "lines", "inserted", "existing", "bad", "bad_lines", "seconds", "rows_per_second" }
  -h, --help       Show this help

Progress goes to stderr: a bar on a terminal, a line per second otherwise.
Exit codes: 0 every line imported or already there, 1 some lines were bad (the others are imported) or a database
error, 2 bad usage or an unreadable file.`;

/** Bad lines printed on stderr; the count of the rest is printed after them. */
const MAX_PRINTED = 100;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
    strict: { type: 'boolean' },
    'batch-size': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError('give one FILE to import, or - for standard input');
  const [file] = positionals;
  const batchSize = intOption('batch-size', values['batch-size'], { min: 1, max: MAX_IMPORT_BATCH_SIZE });
  let size: number | null = null;
  if (file !== '-') {
    try {
      const stat = statSync(file);
      if (!stat.isFile()) throw new Error('not a regular file');
      size = stat.size;
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
  }
  const url = databaseUrl(values.database, io.env);

  const summary = await withTasks(url, io, { publish: false }, async (tasks) => {
    const input = file === '-' ? process.stdin : createReadStream(file);
    const sink = progressSink(io);
    let progress: Progress | undefined;
    let printed = 0;
    try {
      return await importJsonLines(tasks.tracker.store, input, {
        batchSize,
        strict: values.strict === true,
        onBadLine: (bad) => {
          if (printed++ < MAX_PRINTED) io.stderr(`line ${bad.line}: ${bad.field}: ${bad.message}\n`);
        },
        onBatch: ({ lines, bytes }) => {
          // The total is estimated from the bytes read so far and the file size (unknown on standard input).
          const total = size !== null && bytes > 0 ? Math.round((lines * size) / bytes) : lines;
          progress ??= new Progress(sink, 'importing runs', total);
          progress.update(lines);
        },
      });
    } finally {
      progress?.done();
    }
  });
  if (summary.bad > MAX_PRINTED) io.stderr(`… and ${summary.bad - MAX_PRINTED} more bad lines\n`);
  if (values.json) {
    io.stdout(
      json({
        lines: summary.lines,
        inserted: summary.inserted,
        existing: summary.existing,
        bad: summary.bad,
        bad_lines: summary.badLines,
        ...(summary.stoppedAt ? { stopped_at: summary.stoppedAt } : {}),
        seconds: Number(summary.seconds.toFixed(3)),
        rows_per_second: Math.round(summary.rowsPerSecond),
      }),
    );
  } else {
    const stopped = summary.stoppedAt ? ` Stopped at line ${summary.stoppedAt.line} (--strict).` : '';
    io.stdout(
      `Imported ${summary.inserted} runs, skipped ${summary.existing} already stored, ${summary.bad} bad lines ` +
        `(${summary.lines} lines in ${summary.seconds.toFixed(1)} s, ${Math.round(summary.rowsPerSecond)} rows/s).${stopped}\n`,
    );
  }
  return summary.bad > 0 ? EXIT.FAILURE : EXIT.OK;
}

const importCommand: Command = { help, run };
export default importCommand;
