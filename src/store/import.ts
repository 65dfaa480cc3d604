/**
 * Bulk import of runs from JSON Lines, one run per line in the REST detail wire format (what `GET executions/<id>/`
 * answers, and what the export query of the Django module's table produces; see docs/SCALING.md, "Import").
 *
 * Every value goes through the same storage boundary as the tracker (`json-safe.ts`): identifiers are refused when a
 * database could not store them exactly, other text is cleaned, payloads are made JSON-safe and capped. The input is
 * read as a stream and written in batches (`ExecutionStore.importRuns`, a bounded number in flight), so memory stays flat whatever the file size,
 * and a run whose `task_id` is already stored is left alone: importing the same file twice changes nothing.
 */
import { ValidationError } from '../errors.js';
import {
  checkIdentifier,
  cleanText,
  clipText,
  DEFAULT_MAX_PAYLOAD_BYTES,
  isPlainObject,
  serializePayload,
  toText,
} from '../json-safe.js';
import { isTaskStatus, TaskStatus, type TaskStatusValue } from '../status.js';
import type { ExecutionStore } from './execution-store.js';
import { parseDateBound } from './filters.js';

/** One run to import, validated and serialized (see `toImportRun`). */
export interface ImportRun {
  taskId: string;
  taskName: string;
  module: string;
  status: TaskStatusValue;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
  argsJson: string;
  kwargsJson: string;
  /** `null`: no result (SQL NULL). */
  resultJson: string | null;
  error: string | null;
  traceback: string | null;
  createdById: string | null;
  createdByUsername: string | null;
  queueName: string | null;
  metadataJson: string;
}

/** What one `importRuns` call did. */
export interface ImportBatchResult {
  /** Rows written. */
  inserted: number;
  /** Rows left alone because their `task_id` was already stored (or came earlier in the same batch). */
  existing: number;
}

/** A line that could not be imported: where, which field, and why. */
export interface BadLine {
  /** 1-based line number in the input. */
  line: number;
  /** The wire field at fault (`status`, `created_at`, …), or `line` when the line is not a JSON object. */
  field: string;
  message: string;
}

/** The outcome of `importJsonLines`. */
export interface ImportSummary {
  /** Non-empty lines read. */
  lines: number;
  inserted: number;
  /** Runs whose `task_id` was already stored: not changed. */
  existing: number;
  /** Lines skipped as bad (all of them, even past `maxReported`). */
  bad: number;
  /** The first bad lines (up to `maxReported`). */
  badLines: BadLine[];
  /** With `strict`: the bad line that stopped the import. */
  stoppedAt?: BadLine;
  seconds: number;
  /** Runs written or found existing, per second. */
  rowsPerSecond: number;
}

export interface ImportOptions {
  /** Runs per batch (one statement on PostgreSQL and MySQL, one transaction on SQLite). @defaultValue 1000 */
  batchSize?: number;
  /** Stop at the first bad line instead of skipping it; the lines before it are written. @defaultValue false */
  strict?: boolean;
  /** A payload serialized larger than this is stored as a truncation marker, as the tracker does. @defaultValue 1 MiB */
  maxPayloadBytes?: number;
  /** Batches written at once (on separate connections). @defaultValue 2 on PostgreSQL, 1 elsewhere */
  concurrency?: number;
  /** Bad lines kept in `ImportSummary.badLines`. @defaultValue 100 */
  maxReported?: number;
  /** Called after each batch with the running totals and the input bytes read so far. */
  onBatch?(progress: { lines: number; inserted: number; existing: number; bad: number; bytes: number }): void;
  /** Called for every bad line (also past `maxReported`). */
  onBadLine?(bad: BadLine): void;
}

export const DEFAULT_IMPORT_BATCH_SIZE = 1000;
/** Larger batches buy nothing (one statement already amortizes the round trip) and cost memory. */
export const MAX_IMPORT_BATCH_SIZE = 10_000;

const MAX_NAME = 255;
const MAX_MODULE = 100;
const MAX_USERNAME = 150;

function text(value: unknown, field: string, max: number, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`, field);
  if (value.length > max) throw new ValidationError(`${field} must be at most ${max} characters`, field);
  return cleanText(value);
}

function nullableText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string or null`, field);
  return toText(value);
}

function timestamp(value: unknown, field: string): Date | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(`${field} must be an ISO 8601 datetime string`, field);
  return parseDateBound(value, field, false).at;
}

/**
 * Validates one run in the REST detail wire format and serializes it for storage. Fields the store derives or does
 * not keep (`id`, `duration`, `is_completed`, `is_running`, `created_by`) are ignored; `queue_name` and `updated_at`
 * are taken when present. Throws a `ValidationError` naming the wire field at fault.
 */
export function toImportRun(value: unknown, maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES): ImportRun {
  if (!isPlainObject(value)) throw new ValidationError('each line must be a JSON object', 'line');
  const v = value as Record<string, unknown>;
  const taskId = v.task_id;
  checkIdentifier(taskId, 'task_id');
  const status = v.status ?? TaskStatus.PENDING;
  if (!isTaskStatus(status)) throw new ValidationError(`status must be one of ${TaskStatus.all.join(', ')}`, 'status');
  const createdAt = timestamp(v.created_at, 'created_at');
  if (!createdAt) throw new ValidationError('created_at is required', 'created_at');
  const startedAt = timestamp(v.started_at, 'started_at');
  const finishedAt = timestamp(v.finished_at, 'finished_at');
  // Without `updated_at` (the wire format has none), the run was last touched when it finished or started.
  const updatedAt = timestamp(v.updated_at, 'updated_at') ?? finishedAt ?? startedAt ?? createdAt;

  const args = v.task_args ?? [];
  if (!Array.isArray(args)) throw new ValidationError('task_args must be an array', 'task_args');
  const kwargs = v.task_kwargs ?? {};
  if (!isPlainObject(kwargs)) throw new ValidationError('task_kwargs must be an object', 'task_kwargs');
  const metadata = v.metadata ?? {};
  if (!isPlainObject(metadata)) throw new ValidationError('metadata must be an object', 'metadata');

  let createdById: string | null = null;
  const id = v.created_by_id;
  if (typeof id === 'number') {
    if (!Number.isFinite(id)) throw new ValidationError('created_by_id must be a finite number', 'created_by_id');
    createdById = String(id);
  } else if (typeof id === 'string') {
    checkIdentifier(id, 'created_by_id');
    createdById = id;
  } else if (id !== undefined && id !== null)
    throw new ValidationError('created_by_id must be a number, a non-empty string or null', 'created_by_id');
  const username = v.created_by_username;
  if (username !== undefined && username !== null && typeof username !== 'string')
    throw new ValidationError('created_by_username must be a string or null', 'created_by_username');

  const queueName = v.queue_name ?? null;
  if (queueName !== null) checkIdentifier(queueName, 'queue_name');

  const payload = (x: unknown) => serializePayload(x, maxPayloadBytes).json;
  const meta = Object.entries(metadata).map(([k, x]) => `${JSON.stringify(cleanText(k))}:${payload(x)}`);
  return {
    taskId,
    taskName: text(v.task_name, 'task_name', MAX_NAME),
    module: text(v.module, 'module', MAX_MODULE),
    status,
    createdAt,
    startedAt,
    finishedAt,
    updatedAt,
    argsJson: payload(args),
    kwargsJson: payload(kwargs),
    resultJson: v.result === undefined || v.result === null ? null : payload(v.result),
    error: nullableText(v.error, 'error'),
    traceback: nullableText(v.traceback, 'traceback'),
    createdById,
    createdByUsername: typeof username === 'string' ? clipText(username, MAX_USERNAME) : null,
    queueName,
    metadataJson: `{${meta.join(',')}}`,
  };
}

/**
 * One batch through `store.importRuns`, tried again when the database reports a deadlock or serialization failure:
 * two batches in flight that share a `task_id` (or an aggregate row) may wait on each other, and the database then
 * cancels one. Inserting again is safe (idempotent on `task_id`).
 */
async function writeBatch(store: ExecutionStore, rows: readonly ImportRun[]): Promise<ImportBatchResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.importRuns(rows);
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      const retry = code === '40P01' || code === '40001' || code === 'ER_LOCK_DEADLOCK';
      if (!retry || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}

/** `line` parsed and validated, or the reason it is bad. */
export function parseImportLine(line: string, lineNumber: number, maxPayloadBytes?: number): ImportRun | BadLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { line: lineNumber, field: 'line', message: `not valid JSON (${(error as Error).message})` };
  }
  try {
    return toImportRun(value, maxPayloadBytes);
  } catch (error) {
    if (error instanceof ValidationError)
      return { line: lineNumber, field: error.field ?? 'line', message: error.message };
    throw error;
  }
}

/** Splits a byte stream into lines (`\n` or `\r\n`), keeping memory to one chunk plus one partial line. */
export async function* readLines(
  input: AsyncIterable<Buffer | string>,
): AsyncGenerator<{ line: string; bytes: number }> {
  let rest = '';
  let bytes = 0;
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of input) {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    const textChunk = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const parts = (rest + textChunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) yield { line: part.endsWith('\r') ? part.slice(0, -1) : part, bytes };
  }
  rest += decoder.decode();
  if (rest !== '') yield { line: rest.endsWith('\r') ? rest.slice(0, -1) : rest, bytes };
}

/**
 * Imports JSON Lines from `input` through `store.importRuns`, batch by batch: the next batch is parsed while earlier
 * ones are being written (`concurrency` at most). Empty lines are skipped. A bad line is reported (`onBadLine`, `badLines`) and skipped,
 * or with `strict` stops the import (`stoppedAt`); batches written before stay written.
 */
export async function importJsonLines(
  store: ExecutionStore,
  input: AsyncIterable<Buffer | string>,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_IMPORT_BATCH_SIZE)
    throw new ValidationError(`batch size must be an integer from 1 to ${MAX_IMPORT_BATCH_SIZE}`, 'batchSize');
  const maxReported = options.maxReported ?? 100;
  const started = performance.now();
  const summary: ImportSummary = {
    lines: 0,
    inserted: 0,
    existing: 0,
    bad: 0,
    badLines: [],
    seconds: 0,
    rowsPerSecond: 0,
  };
  let bytes = 0;
  let batch: ImportRun[] = [];
  // Batches in flight at once: on PostgreSQL two keep both the parser and the server busy; elsewhere one writer.
  const concurrency = options.concurrency ?? (store.dialect.name === 'postgres' ? 2 : 1);
  const inFlight = new Set<Promise<void>>();
  let failed: unknown;
  const flush = async () => {
    const rows = batch;
    batch = [];
    if (rows.length === 0) return;
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failed) throw failed;
    const readBytes = bytes;
    const write: Promise<void> = writeBatch(store, rows)
      .then((result) => {
        summary.inserted += result.inserted;
        summary.existing += result.existing;
        options.onBatch?.({
          lines: summary.lines,
          inserted: summary.inserted,
          existing: summary.existing,
          bad: summary.bad,
          bytes: readBytes,
        });
      })
      .catch((error) => {
        failed ??= error;
      })
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  };
  let lineNumber = 0;
  for await (const { line, bytes: read } of readLines(input)) {
    lineNumber++;
    bytes = read;
    if (line.trim() === '') continue;
    summary.lines++;
    const parsed = parseImportLine(line, lineNumber, options.maxPayloadBytes);
    if ('taskId' in parsed) {
      batch.push(parsed);
      if (batch.length >= batchSize) await flush();
      continue;
    }
    summary.bad++;
    if (summary.badLines.length < maxReported) summary.badLines.push(parsed);
    options.onBadLine?.(parsed);
    if (options.strict) {
      summary.stoppedAt = parsed;
      break;
    }
  }
  await flush(); // with `strict`, every line before the bad one is written too
  await Promise.all(inFlight);
  if (failed) throw failed;
  summary.seconds = (performance.now() - started) / 1000;
  summary.rowsPerSecond = summary.seconds > 0 ? (summary.inserted + summary.existing) / summary.seconds : 0;
  return summary;
}
