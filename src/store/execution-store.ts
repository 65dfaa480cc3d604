import { CompiledQuery, type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import { ValidationError } from '../errors.js';
import { isCompletedStatus, TaskStatus, type TaskStatusValue } from '../status.js';
import {
  type ExecutionFilters,
  type ExecutionPage,
  ORDERING_FIELDS,
  type OrderingField,
  type PageOptions,
  type StatsOptions,
  type StatusCounts,
  type TaskExecution,
  type TaskStats,
} from '../types.js';
import {
  AggregatesReadiness,
  countFromAggregates,
  countsFromAggregates,
  seriesByStatusFromAggregates,
} from './aggregates/index.js';
import { ReadCoalescer } from './coalesce.js';
import { type Granularity, type MetadataMerge, metadataMerge, type SqlDialect } from './dialect.js';
import { durationsByTaskName } from './durations.js';
import type { Effect, GuardedValue } from './effect.js';
import { applyFilters, decodeCursor, encodeCursor, keysetAfter, parseDateBound, validateFilters } from './filters.js';
import type { ImportBatchResult, ImportRun } from './import.js';
import { REGISTER_BATCH_SQL, UPDATE_BATCH_SQL } from './postgres/batch.js';
import { IMPORT_BATCH_SQL } from './postgres/import.js';
import { prepared } from './postgres/prepared.js';
import { decodeCreatedById, type ExecutionRow, rowToExecution } from './row.js';
import type { Database } from './schema.js';

/** A run to insert, already normalized and serialized by the tracker. */
export interface NewExecution {
  taskId: string;
  taskName: string;
  module: string;
  status: TaskStatusValue;
  argsJson: string;
  kwargsJson: string;
  metadataJson: string;
  createdById: string | null;
  createdByUsername: string | null;
  queueName: string | null;
}

/** A status update, already serialized. `undefined` fields are left untouched. */
export interface StatusPatch {
  /** Absent for a progress-only write, which never touches status or timestamps. */
  status?: TaskStatusValue;
  resultJson?: string;
  error?: string | null;
  traceback?: string | null;
  /** Top-level metadata keys with their JSON text. */
  metadata?: ReadonlyArray<readonly [string, string]>;
}

/** One run's waiting writes, folded, as one row of a batched update. */
export interface BatchUpdate {
  taskId: string;
  /** Apply only when the run belongs to this queue (or to none). */
  queue: string | null;
  effect: Effect;
  /** Return the whole row (`execution`), not only `run`. */
  full: boolean;
}

/** `backdate` leaves a time alone that is at most this late (ms). */
export const BACKDATE_TOLERANCE_MS = 100;

/** What every write reports about the run it changed: enough for the change feed and the BullMQ recorders. */
export interface ChangedRun {
  id: number;
  taskId: string;
  status: TaskStatusValue;
  createdById: string | number | null;
  taskName: string;
  queueName: string | null;
}

const COMPLETED = [...TaskStatus.completed];
/** Distinct update shapes kept compiled; there are a few dozen in practice (status × fields × metadata key count). */
const MAX_UPDATE_TEMPLATES = 500;

/** A named placeholder in a compiled statement template, replaced by its value at each execution. */
class Slot {
  constructor(readonly name: string) {}
}
/** Rows per INSERT of an import on MySQL and SQLite (17 placeholders each). */
const IMPORT_ROWS_PER_STATEMENT = 1000;
/**
 * A list's count is exact up to this many matching runs when the aggregates cannot answer it; past it, PostgreSQL
 * estimates (see `ExecutionStore.list`).
 */
export const EXACT_COUNT_BOUND = 10_000;
/** Ordering fields holding timestamps, and those that may be NULL (keyset paging treats them apart). */
const DATE_ORDERING: ReadonlySet<OrderingField> = new Set(['created_at', 'started_at', 'finished_at']);
const NULLABLE_ORDERING: ReadonlySet<OrderingField> = new Set(['started_at', 'finished_at']);
export const DEFAULT_PAGE_SIZE = 10;
export const MAX_PAGE_SIZE = 100;

/**
 * Every SQL statement on `agentcore_task_execution`. Written once with the query builder; the few dialect-specific
 * pieces come from `SqlDialect`.
 */
export class ExecutionStore {
  private readonly updateTemplates = new Map<string, { sql: string; parameters: readonly unknown[] }>();
  /** List counts being made, by their filters as JSON (see `sharedCount`). */
  private readonly countReads = new ReadCoalescer<{ count: number; exact: boolean }>();
  /** Whether the aggregates count every run yet (not while the 0004 backfill is pending): else the table is counted. */
  private readonly aggregates = new AggregatesReadiness();

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
  ) {}

  private now(): Date | string {
    return this.dialect.toDbDate(new Date());
  }

  private toExecution = (row: ExecutionRow): TaskExecution => rowToExecution(row, this.dialect);

  /**
   * Inserts the run unless `task_id` exists. When it exists and was created by an early update (empty `task_name`),
   * fills in name, module, args, creator and queue and merges metadata under the keys already there. Otherwise changes
   * nothing. Returns the stored row.
   */
  async register(run: NewExecution): Promise<{ execution: TaskExecution; created: boolean; filledIn: boolean }> {
    const now = new Date();
    const dbNow = this.dialect.toDbDate(now);
    const started = run.status === TaskStatus.STARTED || isCompletedStatus(run.status) ? dbNow : null;
    const values = {
      task_id: run.taskId,
      task_name: run.taskName,
      module: run.module,
      status: run.status,
      created_at: dbNow,
      started_at: started,
      finished_at: isCompletedStatus(run.status) ? dbNow : null,
      updated_at: dbNow,
      task_args: this.dialect.json(run.argsJson),
      task_kwargs: this.dialect.json(run.kwargsJson),
      metadata: this.dialect.json(run.metadataJson),
      created_by_id: run.createdById,
      created_by_username: run.createdByUsername,
      queue_name: run.queueName,
    };
    let insert = this.db.insertInto('agentcore_task_execution').values(values);
    insert =
      this.dialect.name === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('task_id').doNothing());
    if (this.dialect.supportsReturning) {
      const query = insert.returningAll().compile();
      // One text for every run: a named prepared statement on PostgreSQL (see `postgres/prepared.ts`).
      if (this.dialect.name === 'postgres') prepared(query.sql);
      const [row] = (await this.db.executeQuery(query)).rows;
      if (row) return { execution: this.toExecution(row), created: true, filledIn: false };
    } else {
      const result = await insert.executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1 && result.insertId !== undefined) {
        const execution = this.toExecution({
          ...values,
          id: result.insertId,
          created_at: now,
          task_args: run.argsJson,
          task_kwargs: run.kwargsJson,
          metadata: run.metadataJson,
          result: null,
          error: null,
          traceback: null,
        });
        return { execution, created: true, filledIn: false };
      }
    }
    const filledIn = await this.fillIn(run);
    const existing = await this.getByTaskId(run.taskId);
    if (!existing) throw new Error(`run ${run.taskId} vanished during registration`);
    return { execution: existing, created: false, filledIn };
  }

  /**
   * `true` when this database takes many runs' writes in one statement (`registerBatch`, `updateBatch`): PostgreSQL.
   * Elsewhere the tracker writes run by run.
   */
  get batches(): boolean {
    return this.dialect.name === 'postgres';
  }

  /**
   * Inserts many new runs in one statement. Returns the runs it created, by `task_id`; a run whose `task_id` exists is
   * left alone and absent from the result (the caller registers it on its own, see `register`).
   */
  async registerBatch(runs: readonly NewExecution[]): Promise<Map<string, TaskExecution>> {
    const now = new Date();
    const rows = runs.map(
      (r) =>
        `{"task_id":${JSON.stringify(r.taskId)},"task_name":${JSON.stringify(r.taskName)},"module":${JSON.stringify(r.module)},` +
        `"status":${JSON.stringify(r.status)},"started":${r.status === TaskStatus.STARTED || isCompletedStatus(r.status)},` +
        `"finished":${isCompletedStatus(r.status)},"args":${r.argsJson},"kwargs":${r.kwargsJson},"meta":${r.metadataJson},` +
        `"created_by_id":${JSON.stringify(r.createdById)},"created_by_username":${JSON.stringify(r.createdByUsername)},` +
        `"queue_name":${JSON.stringify(r.queueName)}}`,
    );
    const { rows: inserted } = await this.db.executeQuery<{ id: string | number; task_id: string }>(
      CompiledQuery.raw(REGISTER_BATCH_SQL, [`[${rows.join(',')}]`, now]),
    );
    const created = new Map<string, TaskExecution>();
    const byTaskId = new Map(runs.map((r) => [r.taskId, r]));
    for (const { id, task_id } of inserted) {
      const run = byTaskId.get(task_id);
      if (run) created.set(task_id, this.newExecution(run, Number(id), now));
    }
    return created;
  }

  /** The row a registration inserted, built from what was written (no read back). */
  private newExecution(run: NewExecution, id: number, now: Date): TaskExecution {
    const started = run.status === TaskStatus.STARTED || isCompletedStatus(run.status) ? now : null;
    return rowToExecution(
      {
        id,
        task_id: run.taskId,
        task_name: run.taskName,
        module: run.module,
        status: run.status,
        created_at: now,
        started_at: started,
        finished_at: isCompletedStatus(run.status) ? now : null,
        updated_at: now,
        task_args: JSON.parse(run.argsJson),
        task_kwargs: JSON.parse(run.kwargsJson),
        metadata: JSON.parse(run.metadataJson),
        result: null,
        error: null,
        traceback: null,
        created_by_id: run.createdById,
        created_by_username: run.createdByUsername,
        queue_name: run.queueName,
      },
      this.dialect,
    );
  }

  /**
   * Applies many runs' folded writes in one statement (at most one item per run). Returns the runs it changed, by
   * `task_id`; a run that does not exist, or belongs to another queue than the item's `queue`, is absent.
   */
  async updateBatch(
    items: readonly BatchUpdate[],
  ): Promise<Map<string, { run: ChangedRun; execution: TaskExecution | null }>> {
    const rows = items.map(({ taskId, queue, effect, full }) => {
      const meta =
        effect.metadata.size === 0
          ? 'null'
          : `{${[...effect.metadata].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
      return (
        `{"task_id":${JSON.stringify(taskId)},"queue":${JSON.stringify(queue)},` +
        `"status":${JSON.stringify(effect.status?.value ?? null)},"status_guarded":${effect.status?.guarded ?? false},` +
        `"started":${effect.started},"completed":${effect.completed},` +
        `${guardedJson('result', effect.result)},${guardedJson('error', effect.error)},` +
        `${guardedJson('traceback', effect.traceback)},"meta":${meta},"full_row":${full}}`
      );
    });
    const { rows: changed } = await this.db.executeQuery<ExecutionRow>(
      CompiledQuery.raw(UPDATE_BATCH_SQL, [`[${rows.join(',')}]`, new Date(), items.map((i) => i.taskId)]),
    );
    const out = new Map<string, { run: ChangedRun; execution: TaskExecution | null }>();
    for (const row of changed) {
      const run: ChangedRun = {
        id: Number(row.id),
        taskId: String(row.task_id),
        status: row.status as TaskStatusValue,
        createdById: decodeCreatedById(row.created_by_id),
        taskName: String(row.task_name ?? ''),
        queueName: (row.queue_name as string | null) ?? null,
      };
      const full = row.full_row as ExecutionRow | null;
      out.set(run.taskId, { run, execution: full ? this.toExecution(full) : null });
    }
    return out;
  }

  /** The late-register fill-in of a row an update created (marked by its empty `task_name`). */
  private async fillIn(run: NewExecution): Promise<boolean> {
    const metadata = Object.entries(JSON.parse(run.metadataJson) as Record<string, unknown>).map(
      ([k, v]) => [k, JSON.stringify(v)] as const,
    );
    const merge = metadataMerge(metadata);
    const result = await this.db
      .updateTable('agentcore_task_execution')
      .set({
        task_name: run.taskName,
        module: run.module,
        task_args: this.dialect.json(run.argsJson),
        task_kwargs: this.dialect.json(run.kwargsJson),
        created_by_id: sql`coalesce(created_by_id, ${run.createdById})`,
        created_by_username: sql`coalesce(created_by_username, ${run.createdByUsername})`,
        queue_name: sql`coalesce(queue_name, ${run.queueName})`,
        ...(metadata.length > 0 ? { metadata: this.dialect.mergeMetadata(merge, true) } : {}),
        updated_at: this.now(),
      })
      .where('task_id', '=', run.taskId)
      .where('task_name', '=', '')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Applies a status update in one statement: no regression from a completed status, first STARTED sets
   * `started_at`, first completed status sets `finished_at`, metadata merged key by key. Returns the row, or `null`
   * when no row has this `task_id` (or, with `queue`, none that belongs to that queue or to no queue).
   */
  async update(taskId: string, patch: StatusPatch, queue: string | null = null): Promise<TaskExecution | null> {
    const pairs = patch.metadata ?? [];
    const shape = `${patch.status ?? ''}|${patch.resultJson !== undefined}|${patch.error !== undefined}|${patch.traceback !== undefined}|${pairs.length}|${queue !== null}`;
    let template = this.updateTemplates.get(shape);
    if (!template) {
      template = this.compileUpdate(patch, queue !== null);
      if (this.updateTemplates.size < MAX_UPDATE_TEMPLATES) this.updateTemplates.set(shape, template);
    }
    const merge = metadataMerge(pairs);
    const values: Record<string, unknown> = {
      taskId,
      now: this.now(),
      result: patch.resultJson,
      error: patch.error,
      traceback: patch.traceback,
      object: merge.object,
      queue,
    };
    merge.entries.forEach(([path, json], i) => {
      values[`path${i}`] = path;
      values[`json${i}`] = json;
    });
    const parameters = template.parameters.map((p) => (p instanceof Slot ? values[p.name] : p));
    const { rows } = await this.db.executeQuery<ExecutionRow>(CompiledQuery.raw(template.sql, parameters));
    if (this.dialect.supportsReturning) return rows[0] ? this.toExecution(rows[0]) : null;
    // MySQL has no RETURNING: read the row back (null when it does not exist, or is another queue's).
    const row = await this.getByTaskId(taskId);
    return row && (queue === null || row.queueName === null || row.queueName === queue) ? row : null;
  }

  /**
   * Builds the update statement for one shape of patch (status, which fields, how many metadata keys) with
   * placeholders, compiles it once, and keeps the SQL: building and compiling with the query builder cost more than
   * running the statement on SQLite. Only the placeholders' values change between calls.
   */
  private compileUpdate(patch: StatusPatch, guarded: boolean): { sql: string; parameters: readonly unknown[] } {
    const merge: MetadataMerge = {
      object: new Slot('object'),
      entries: (patch.metadata ?? []).map((_, i) => [new Slot(`path${i}`), new Slot(`json${i}`)] as const),
    };
    let query = this.db
      .updateTable('agentcore_task_execution')
      .set(this.updateSet(patch, merge))
      .where('task_id', '=', new Slot('taskId') as never);
    if (guarded)
      query = query.where((eb) =>
        eb.or([eb('queue_name', 'is', null), eb('queue_name', '=', new Slot('queue') as never)]),
      ) as never;
    if (this.dialect.supportsReturning) query = query.returningAll() as never;
    const compiled = query.compile();
    // A fixed text per shape: a named prepared statement on PostgreSQL (see `postgres/prepared.ts`).
    return {
      sql: this.dialect.name === 'postgres' ? prepared(compiled.sql) : compiled.sql,
      parameters: compiled.parameters,
    };
  }

  /**
   * The `SET` list of an update. Column order matters on MySQL, which evaluates assignments left to right with the
   * values already assigned: every column that reads `status` comes before `status` itself.
   */
  private updateSet(patch: StatusPatch, merge: MetadataMerge): Record<string, unknown> {
    const now = new Slot('now');
    const next = patch.status;
    const completedList = sql.join(COMPLETED.map((s) => sql.lit(s)));
    const wasCompleted = sql`status in (${completedList})`;
    const nextCompleted = next !== undefined && isCompletedStatus(next);
    // A non-completed status is ignored once the run is completed; fields that come with it are ignored too.
    const guarded = (value: unknown, column: string): RawBuilder<unknown> | unknown =>
      nextCompleted ? value : sql`case when ${wasCompleted} then ${sql.ref(column)} else ${value} end`;
    const set: Record<string, unknown> = {};
    if (merge.entries.length > 0) set.metadata = this.dialect.mergeMetadata(merge);
    if (patch.resultJson !== undefined) set.result = guarded(this.dialect.json(new Slot('result') as never), 'result');
    if (patch.error !== undefined) set.error = guarded(new Slot('error'), 'error');
    else if (next === TaskStatus.SUCCESS) set.error = null;
    if (patch.traceback !== undefined) set.traceback = guarded(new Slot('traceback'), 'traceback');
    else if (next === TaskStatus.SUCCESS) set.traceback = null;
    if (next === TaskStatus.STARTED || nextCompleted) {
      // A run that completes without a STARTED we saw still gets a start time only when STARTED arrives.
      if (next === TaskStatus.STARTED)
        set.started_at = sql`case when started_at is null and not (${wasCompleted}) then ${now} else started_at end`;
      if (nextCompleted) set.finished_at = sql`coalesce(finished_at, ${now})`;
    }
    set.updated_at = now;
    if (next === undefined) return set;
    set.status = nextCompleted ? next : sql`case when ${wasCompleted} then status else ${next} end`;
    return set;
  }

  /** Inserts the row an update needs when it arrives before registration. Returns `false` if it already exists. */
  async insertFromUpdate(taskId: string, patch: StatusPatch): Promise<boolean> {
    const now = this.now();
    const status = patch.status ?? TaskStatus.STARTED;
    const metadata = `{${(patch.metadata ?? []).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    let insert = this.db.insertInto('agentcore_task_execution').values({
      task_id: taskId,
      task_name: '',
      module: '',
      status,
      created_at: now,
      started_at: status === TaskStatus.STARTED ? now : null,
      finished_at: isCompletedStatus(status) ? now : null,
      updated_at: now,
      task_args: this.dialect.json('[]'),
      task_kwargs: this.dialect.json('{}'),
      metadata: this.dialect.json(metadata),
      result: patch.resultJson === undefined ? null : this.dialect.json(patch.resultJson),
      error: patch.error ?? null,
      traceback: patch.traceback ?? null,
    });
    insert =
      this.dialect.name === 'mysql' ? insert.ignore() : insert.onConflict((oc) => oc.column('task_id').doNothing());
    const result = await insert.executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getById(id: number): Promise<TaskExecution | null> {
    return this.getBy('id', id);
  }

  async getByTaskId(taskId: string): Promise<TaskExecution | null> {
    return this.getBy('task_id', taskId);
  }

  /** The single-row reads behind detail, status and sync, compiled once: building the query costs more than it runs. */
  private readonly readTemplates = new Map<'id' | 'task_id', string>();

  private async getBy(column: 'id' | 'task_id', value: number | string): Promise<TaskExecution | null> {
    let text = this.readTemplates.get(column);
    if (text === undefined) {
      text = this.db.selectFrom('agentcore_task_execution').selectAll().where(column, '=', value).compile().sql;
      this.readTemplates.set(column, text);
    }
    const { rows } = await this.db.executeQuery<ExecutionRow>(CompiledQuery.raw(text, [value]));
    return rows[0] ? this.toExecution(rows[0]) : null;
  }

  /**
   * One page of runs matching `filters`, with the count of all matching runs. The page reads `pageSize + 1` rows
   * (one more tells whether a next page exists) either at an offset (`page`) or after a cursor (`cursor`, keyset:
   * the same cost at any depth). The count comes from the maintained aggregates when they cover the filters
   * (exact, whatever the number of runs); otherwise it is counted exactly up to `EXACT_COUNT_BOUND` and, past that on
   * PostgreSQL, estimated by the planner (`countIsExact: false`). MySQL and SQLite count exactly.
   */
  async list(filters: ExecutionFilters, options: PageOptions = {}): Promise<ExecutionPage> {
    validateFilters(filters);
    const { page, pageSize, ordering } = normalizePage(options);
    const orderingText = `${ordering.direction === 'desc' ? '-' : ''}${ordering.field}`;
    const cursor = options.cursor === undefined ? null : decodeCursor(options.cursor, orderingText);
    const base = applyFilters(this.db.selectFrom('agentcore_task_execution'), filters, this.dialect);
    const isDate = DATE_ORDERING.has(ordering.field);
    // PostgreSQL keeps microseconds, which a JS Date would drop: the cursor carries the stored value as text.
    const exactKey = this.dialect.name === 'postgres' && isDate;
    const direction = cursor?.before ? (ordering.direction === 'desc' ? 'asc' : 'desc') : ordering.direction;
    let rowsQuery = base.selectAll();
    if (exactKey)
      rowsQuery = rowsQuery.select(
        sql<string>`to_char(${sql.ref(ordering.field)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
          'cursor_value',
        ),
      ) as never;
    if (cursor) {
      let value: unknown = cursor.value;
      if (value !== null && isDate) {
        const at = new Date(String(value));
        if (Number.isNaN(at.getTime()))
          throw new ValidationError('cursor is not valid: use the link of a previous page', 'cursor');
        if (!exactKey) value = this.dialect.toDbDate(at);
      }
      rowsQuery = rowsQuery.where(
        keysetAfter(ordering.field, direction, value, cursor.id, {
          nullsHigh: this.dialect.name === 'postgres',
          nullable: NULLABLE_ORDERING.has(ordering.field),
          cast: exactKey ? 'timestamptz' : undefined,
        }),
      );
    }
    const offset = cursor ? 0 : (page - 1) * pageSize;
    const [counted, fetched] = await Promise.all([
      this.sharedCount(filters, base),
      rowsQuery
        .orderBy(ordering.field, direction)
        .orderBy('id', direction)
        .limit(pageSize + 1)
        .offset(offset)
        .execute(),
    ]);
    const more = fetched.length > pageSize;
    const rows = fetched.slice(0, pageSize);
    if (cursor?.before) rows.reverse();
    const key = (row: ExecutionRow, before: boolean): string =>
      encodeCursor({
        ordering: orderingText,
        value: this.cursorValue(row, ordering.field),
        id: Number(row.id),
        before,
      });
    const first = rows[0];
    const last = rows[rows.length - 1];
    // Forward, rows before this page exist when it was reached by a cursor or is past page 1; backward, the mirror.
    const hasPrevious = cursor ? (cursor.before ? more : true) : page > 1;
    const hasNext = cursor?.before ? true : more;
    const seen = offset + rows.length + (more ? 1 : 0);
    return {
      count: counted.exact ? counted.count : Math.max(counted.count, seen),
      countIsExact: counted.exact,
      page,
      pageSize,
      results: rows.map(this.toExecution),
      nextCursor: hasNext && last ? key(last, false) : null,
      previousCursor: hasPrevious && first ? key(first, true) : null,
    };
  }

  /** The ordering value of `row` as a cursor holds it (see `list`). */
  private cursorValue(row: ExecutionRow, field: OrderingField): string | null {
    if (row.cursor_value !== undefined) return (row.cursor_value as string | null) ?? null;
    const value = row[field];
    if (value === null || value === undefined) return null;
    return value instanceof Date ? value.toISOString() : String(value);
  }

  /**
   * `countMatching`, shared by identical lists at the same time (`ReadCoalescer`): sixteen admins on the first page of
   * all runs cost one count at a time, not sixteen. Each count is made after its request arrived.
   */
  private sharedCount(
    filters: ExecutionFilters,
    base: SelectQueryBuilder<Database, 'agentcore_task_execution', object>,
  ): Promise<{ count: number; exact: boolean }> {
    let key: string;
    try {
      key = JSON.stringify(filters);
    } catch {
      return this.countMatching(filters, base); // not serializable (a BigInt): counted alone
    }
    return this.countReads.run(key, () => this.countMatching(filters, base));
  }

  /**
   * How many runs match: exact from the aggregates when they cover the filters; else exact up to
   * `EXACT_COUNT_BOUND` (a count over a `LIMIT` subquery, so its cost is bounded); past it, PostgreSQL's row estimate
   * of the filtered query (`EXPLAIN`). MySQL and SQLite count exactly.
   */
  private async countMatching(
    filters: ExecutionFilters,
    base: SelectQueryBuilder<Database, 'agentcore_task_execution', object>,
  ): Promise<{ count: number; exact: boolean }> {
    const fromAggregates = await this.aggregates.read(this.db, (stats) => countFromAggregates(stats, filters));
    if (fromAggregates !== null) return { count: fromAggregates, exact: true };
    if (this.dialect.name !== 'postgres') {
      const row = await base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
      return { count: Number(row?.n ?? 0), exact: true };
    }
    const bounded = await this.db
      .selectFrom(
        base
          .select(sql<number>`1`.as('one'))
          .limit(EXACT_COUNT_BOUND + 1)
          .as('matching'),
      )
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirst();
    const n = Number(bounded?.n ?? 0);
    if (n <= EXACT_COUNT_BOUND) return { count: n, exact: true };
    const query = base.select(sql<number>`1`.as('one')).compile();
    const { rows } = await this.db.executeQuery<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
      CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]),
    );
    const estimate = Math.round(Number(rows[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0));
    return { count: Math.max(estimate, EXACT_COUNT_BOUND + 1), exact: false };
  }

  /**
   * Counts by status, module and task name in one grouped query, plus one grouped query for the series: a constant
   * number of queries whatever the number of modules and names. Both read the maintained aggregates
   * (`agentcore_task_stats`) when the filters are key columns and hour-aligned date bounds, so their cost does not grow
   * with the number of runs; search, metadata and other date bounds count the table. The series is grouped by bucket and
   * status (`series_by_status`; `series` holds its totals). `durations` adds one grouped query over the table for
   * `duration_by_task_name` (see `durations.ts`).
   */
  async stats(options: StatsOptions = {}): Promise<TaskStats> {
    const { granularity, durations, ...filters } = options;
    validateFilters(filters);
    if (granularity !== undefined && !['day', 'month', 'year'].includes(granularity))
      throw new ValidationError('granularity must be one of day, month, year', 'granularity');
    // From the aggregates when they cover the filters (no table read), else counted over the table.
    const grouped = this.aggregates
      .read(this.db, (stats) => countsFromAggregates(stats, filters))
      .then(
        (fromAggregates) =>
          fromAggregates ??
          applyFilters(this.db.selectFrom('agentcore_task_execution'), filters, this.dialect)
            .select(['module', 'task_name', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
            .groupBy(['module', 'task_name', 'status'])
            .execute(),
      );
    const series = granularity ? this.series(filters, granularity) : Promise.resolve(undefined);
    const byDuration = durations ? durationsByTaskName(this.db, this.dialect, filters) : Promise.resolve(undefined);
    const [rows, seriesRows, durationRows] = await Promise.all([grouped, series, byDuration]);
    const stats: TaskStats = { ...emptyCounts(), by_module: {}, by_task_name: {} };
    for (const row of rows) {
      const n = Number(row.n);
      const key = String(row.status).toLowerCase() as keyof StatusCounts;
      addCount(stats, key, n);
      stats.by_module[row.module] ??= emptyCounts();
      stats.by_task_name[row.task_name] ??= emptyCounts();
      addCount(stats.by_module[row.module], key, n);
      addCount(stats.by_task_name[row.task_name], key, n);
    }
    if (seriesRows) {
      stats.series = seriesRows.map(({ bucket, counts }) => ({ bucket, count: counts.total }));
      stats.series_by_status = seriesRows;
    }
    if (durationRows) stats.duration_by_task_name = durationRows;
    return stats;
  }

  /** The series buckets with their counts by status (`series` is their totals): one grouped query. */
  private async series(
    filters: ExecutionFilters,
    granularity: Granularity,
  ): Promise<Array<{ bucket: string; counts: StatusCounts }>> {
    const { from, to, buckets } = seriesRange(granularity, filters);
    let counts = await this.aggregates.read(this.db, (stats) =>
      seriesByStatusFromAggregates(stats, filters, granularity, from, to),
    );
    if (!counts) {
      const bucket = this.dialect.createdAtBucket(granularity);
      const rows = await applyFilters(
        this.db.selectFrom('agentcore_task_execution'),
        { ...filters, startDate: undefined, endDate: undefined },
        this.dialect,
      )
        .where('created_at', '>=', this.dialect.toDbDate(from))
        .where('created_at', '<', this.dialect.toDbDate(to))
        .select([bucket.as('bucket'), 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
        .groupBy([bucket, 'status'])
        .execute();
      counts = new Map();
      for (const r of rows) {
        const label = String(r.bucket);
        if (!counts.has(label)) counts.set(label, new Map());
        counts.get(label)?.set(r.status, Number(r.n));
      }
    }
    return buckets.map((b) => {
      const statusCounts = emptyCounts();
      for (const [status, n] of counts?.get(b) ?? [])
        addCount(statusCounts, status.toLowerCase() as keyof StatusCounts, n);
      return { bucket: b, counts: statusCounts };
    });
  }

  /**
   * Inserts imported runs (validated and serialized by `toImportRun`, see `store/import.ts`), leaving alone every
   * `task_id` already stored: one statement per batch on PostgreSQL (`jsonb_to_recordset`) and MySQL
   * (`INSERT IGNORE`), one transaction on SQLite. Plain inserts, so triggers on the table see them like any other.
   */
  async importRuns(runs: readonly ImportRun[]): Promise<ImportBatchResult> {
    if (runs.length === 0) return { inserted: 0, existing: 0 };
    let inserted = 0;
    if (this.dialect.name === 'postgres') {
      const iso = (d: Date | null) => (d === null ? 'null' : `"${d.toISOString()}"`);
      const rows = runs.map(
        (r) =>
          `{"task_id":${JSON.stringify(r.taskId)},"task_name":${JSON.stringify(r.taskName)},"module":${JSON.stringify(r.module)},` +
          `"status":"${r.status}","created_at":${iso(r.createdAt)},"started_at":${iso(r.startedAt)},` +
          `"finished_at":${iso(r.finishedAt)},"updated_at":${iso(r.updatedAt)},"args":${r.argsJson},` +
          `"kwargs":${r.kwargsJson},"result":${r.resultJson ?? 'null'},"error":${JSON.stringify(r.error)},` +
          `"traceback":${JSON.stringify(r.traceback)},"created_by_id":${JSON.stringify(r.createdById)},` +
          `"created_by_username":${JSON.stringify(r.createdByUsername)},"queue_name":${JSON.stringify(r.queueName)},` +
          `"meta":${r.metadataJson}}`,
      );
      const result = await this.db.executeQuery(CompiledQuery.raw(IMPORT_BATCH_SQL, [`[${rows.join(',')}]`]));
      inserted = Number(result.numAffectedRows ?? 0);
    } else {
      const date = (d: Date | null) => (d === null ? null : this.dialect.toDbDate(d));
      const values = runs.map((r) => ({
        task_id: r.taskId,
        task_name: r.taskName,
        module: r.module,
        status: r.status,
        created_at: this.dialect.toDbDate(r.createdAt),
        started_at: date(r.startedAt),
        finished_at: date(r.finishedAt),
        updated_at: this.dialect.toDbDate(r.updatedAt),
        task_args: this.dialect.json(r.argsJson),
        task_kwargs: this.dialect.json(r.kwargsJson),
        result: r.resultJson === null ? null : this.dialect.json(r.resultJson),
        error: r.error,
        traceback: r.traceback,
        created_by_id: r.createdById,
        created_by_username: r.createdByUsername,
        queue_name: r.queueName,
        metadata: this.dialect.json(r.metadataJson),
      }));
      await this.db.transaction().execute(async (trx) => {
        // 17 parameters a row: chunks stay under every driver's limit on placeholders per statement.
        for (let i = 0; i < values.length; i += IMPORT_ROWS_PER_STATEMENT) {
          const chunk = values.slice(i, i + IMPORT_ROWS_PER_STATEMENT);
          const insert = trx.insertInto('agentcore_task_execution').values(chunk);
          const result = await (this.dialect.name === 'mysql'
            ? insert.ignore()
            : insert.onConflict((oc) => oc.column('task_id').doNothing())
          ).executeTakeFirst();
          inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
        }
      });
    }
    return { inserted, existing: runs.length - inserted };
  }

  /**
   * Moves a completed run back to `status` (an admin's retry of its job): clears `finished_at`, in one statement that
   * applies only while the run still has the status `from` (a worker that already ended the retried job keeps its
   * end). The only write that reopens a completed run: every other path refuses that regression. Returns whether it
   * applied.
   */
  async reopen(id: number, from: TaskStatusValue, status: TaskStatusValue): Promise<boolean> {
    const result = await this.db
      .updateTable('agentcore_task_execution')
      .set({ status, finished_at: null, updated_at: this.now() as never })
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Moves a run's times back to when its job really was added, started and finished, for writes made from a read of
   * the queue well after the fact (the recorder after a gap, or for events the stream never delivered), whose
   * timestamps are those of the write. Only ever earlier: `created_at` when later than `createdAt`, `started_at` when
   * empty or later than `startedAt`, `finished_at` when set and later than `finishedAt` (later by more than
   * `BACKDATE_TOLERANCE_MS`). Returns whether a row changed.
   */
  async backdate(taskId: string, times: { createdAt?: Date; startedAt?: Date; finishedAt?: Date }): Promise<boolean> {
    const at = (d: Date) => sql`${this.dialect.toDbDate(d)}`;
    // A time less than this much late is left as written (the event path's writes trail the job by a few ms).
    const late = (d: Date) => at(new Date(d.getTime() + BACKDATE_TOLERANCE_MS));
    const set: Record<string, unknown> = {};
    const changes = [];
    for (const [column, time] of [
      ['created_at', times.createdAt],
      ['started_at', times.startedAt],
      ['finished_at', times.finishedAt],
    ] as const) {
      if (!time) continue;
      const ref = sql.ref(column);
      // `started_at` is also filled in when empty; the others are always set by then.
      const change =
        column === 'started_at' ? sql`(${ref} is null or ${ref} > ${late(time)})` : sql`${ref} > ${late(time)}`;
      set[column] = sql`case when ${change} then ${at(time)} else ${ref} end`;
      changes.push(change);
    }
    if (changes.length === 0) return false;
    const result = await this.db
      .updateTable('agentcore_task_execution')
      .set(set as never)
      .where('task_id', '=', taskId)
      .where(sql<boolean>`(${sql.join(changes, sql` or `)})`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Runs not yet completed, for sync: running ones (`STARTED`, `RETRY`) oldest first, then `PENDING` ones oldest
   * first, `limit` in all. Running first, because a worker that died after its jobs ended leaves them `STARTED`, and
   * a backlog of rightly waiting runs (delayed jobs) must not hide them from a bounded sync.
   */
  async unfinished(limit: number): Promise<TaskExecution[]> {
    const oldest = (statuses: TaskStatusValue[], n: number) =>
      this.db
        .selectFrom('agentcore_task_execution')
        .selectAll()
        .where('status', 'in', statuses)
        .orderBy('created_at', 'asc')
        .limit(n)
        .execute();
    const running = await oldest([TaskStatus.STARTED, TaskStatus.RETRY], limit);
    const pending = running.length < limit ? await oldest([TaskStatus.PENDING], limit - running.length) : [];
    return [...running, ...pending].map(this.toExecution);
  }
}

/** `"set_<name>":…,"<name>":…,"<name>_guarded":…` of one batch row. */
function guardedJson(name: string, field: GuardedValue<string | null> | undefined): string {
  if (!field) return `"set_${name}":false`;
  return `"set_${name}":true,"${name}":${JSON.stringify(field.value)},"${name}_guarded":${field.guarded}`;
}

function emptyCounts(): StatusCounts {
  return { total: 0, pending: 0, started: 0, success: 0, failure: 0, retry: 0, revoked: 0 };
}

function addCount(counts: StatusCounts, key: keyof StatusCounts, n: number) {
  counts.total += n;
  if (key in counts && key !== 'total') counts[key] += n;
}

/** Validated, clamped paging. Throws a `ValidationError` for a non-integer page or size, or an unknown ordering. */
export function normalizePage(options: PageOptions) {
  const page = options.page ?? 1;
  if (!Number.isInteger(page) || page < 1) throw new ValidationError('page must be a positive integer', 'page');
  const requested = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(requested) || requested < 1)
    throw new ValidationError('page_size must be a positive integer', 'page_size');
  const pageSize = Math.min(requested, MAX_PAGE_SIZE);
  const raw = options.ordering ?? '-created_at';
  const field = raw.replace(/^-/, '');
  if (!(ORDERING_FIELDS as readonly string[]).includes(field))
    throw new ValidationError(
      `ordering must be one of ${ORDERING_FIELDS.join(', ')} (optionally prefixed with -)`,
      'ordering',
    );
  return {
    page,
    pageSize,
    ordering: { field: field as OrderingField, direction: raw.startsWith('-') ? ('desc' as const) : ('asc' as const) },
  };
}

const DAY = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** The time range and the bucket labels of a stats series, all in UTC. */
export function seriesRange(granularity: Granularity, filters: ExecutionFilters, now = new Date()) {
  if (granularity === 'day') {
    const anchor = filters.startDate ? parseDateBound(filters.startDate, 'start_date', false).at : now;
    const from = new Date(`${isoDay(anchor)}T00:00:00.000Z`);
    return { from, to: new Date(from.getTime() + DAY), buckets: Array.from({ length: 24 }, (_, h) => `${pad(h)}:00`) };
  }
  const endAnchor = filters.endDate
    ? new Date(parseDateBound(filters.endDate, 'end_date', true).at.getTime() - 1)
    : now;
  if (granularity === 'month') {
    const lastDay = new Date(`${isoDay(endAnchor)}T00:00:00.000Z`);
    const from = new Date(lastDay.getTime() - 29 * DAY);
    const buckets = Array.from({ length: 30 }, (_, i) => isoDay(new Date(from.getTime() + i * DAY)));
    return { from, to: new Date(lastDay.getTime() + DAY), buckets };
  }
  const y = endAnchor.getUTCFullYear();
  const m = endAnchor.getUTCMonth();
  const from = new Date(Date.UTC(y, m - 11, 1));
  const to = new Date(Date.UTC(y, m + 1, 1));
  const buckets = Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(y, m - 11 + i, 1));
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
  });
  return { from, to, buckets };
}
