import { DEFAULT_CLEANUP_BATCH_SIZE } from '../../maintenance/names.js';
import { type CliIo, type Command, EXIT, intOption, parseCommandArgs, UsageError } from '../command.js';
import { DATABASE_HELP, databaseUrl, withTasks } from '../database.js';
import { asUsage, json, Progress, progressSink } from '../format.js';

const DAY_MS = 86_400_000;

const help = `Usage: agentcore-task cleanup [options]

Deletes runs created more than the retention ago, in batches so that writers are never blocked for long. By
default only finished runs (SUCCESS, FAILURE, REVOKED) are deleted. Runs now, whatever
AGENTCORE_TASK_CLEANUP_ENABLED says (that setting governs the schedule), and is not recorded as a run. When it
deleted runs, it then compacts the stats aggregates (their rows that now count 0 go), as the scheduled job does.

Options:
  --retention-days N     Delete runs older than N days (default: setting retentionDays,
                         AGENTCORE_TASK_RETENTION_DAYS, 30)
  --include-unfinished   Also delete old PENDING/STARTED/RETRY runs (default: setting cleanupOnlyCompleted)
  --batch-size N         Rows per batch (one progress step), 1 to 30000; each batch is deleted
                         50 rows per statement, with a pause after each (default: ${DEFAULT_CLEANUP_BATCH_SIZE})
  ${DATABASE_HELP}
  --json                 Print { "deleted_count", "cutoff", "retention_days", "only_completed",
                         "aggregates_compacted" (when runs were deleted) }
  -h, --help             Show this help

Progress goes to stderr: a bar on a terminal, a line per second otherwise.
Exit codes: 0 done (also when nothing was old enough), 1 database error, 2 bad usage.`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    database: { type: 'string' },
    json: { type: 'boolean' },
    'retention-days': { type: 'string' },
    'include-unfinished': { type: 'boolean' },
    'batch-size': { type: 'string' },
  });
  if (values.help) {
    io.stdout(`${help}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const retentionDays = intOption('retention-days', values['retention-days'], { min: 1 });
  const batchSize = intOption('batch-size', values['batch-size'], { min: 1, max: 30_000 });
  const url = databaseUrl(values.database, io.env);

  const result = await withTasks(url, io, {}, async (tasks) => {
    const settings = await tasks.settings.get();
    const days = retentionDays ?? settings.retentionDays;
    const onlyCompleted = values['include-unfinished'] ? false : settings.cleanupOnlyCompleted;
    // The total is an estimate for the progress display: the stats of runs older than the cutoff, by status.
    const before = await tasks.tracker.getTaskStats({ endDate: new Date(Date.now() - days * DAY_MS) });
    const total = onlyCompleted ? before.success + before.failure + before.revoked : before.total;
    const progress = new Progress(progressSink(io), 'deleting old runs', total);
    try {
      // As the scheduled job does: cleanup, then compaction of the aggregates when it deleted runs.
      return await asUsage(
        () =>
          tasks.maintenance.cleanupAndCompact({
            retentionDays: days,
            onlyCompleted,
            batchSize,
            // A cleanup that fits in one batch is over before any progress would help.
            onBatch: total > (batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE) ? (n) => progress.update(n) : undefined,
          }),
        { retentionDays: '--retention-days', batchSize: '--batch-size' },
      );
    } finally {
      progress.done();
    }
  });
  if (values.json) {
    io.stdout(json(result));
    return EXIT.OK;
  }
  if (result.skipped) {
    io.stdout(`Skipped: retention of ${result.retention_days} days is not positive; no run was deleted.\n`);
    return EXIT.OK;
  }
  const which = result.only_completed ? 'finished runs' : 'runs (finished or not)';
  io.stdout(
    `Deleted ${result.deleted_count} ${which} created before ${result.cutoff} (retention ${result.retention_days} days).\n`,
  );
  const compacted = result.aggregates_compacted;
  if (compacted)
    io.stdout(
      `Compacted the stats aggregates: ${compacted.scanned} rows read, ${compacted.folded} folded, ${compacted.removed} removed (${(compacted.ms / 1000).toFixed(1)} s).\n`,
    );
  return EXIT.OK;
}

const cleanup: Command = { help, run };
export default cleanup;
