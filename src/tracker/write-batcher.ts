import type { Logger } from '../logger.js';
import { type Effect, emptyEffect, foldPatch } from '../store/effect.js';
import type { ChangedRun, ExecutionStore, NewExecution, StatusPatch } from '../store/execution-store.js';
import type { TaskExecution } from '../types.js';
import { Retrier, type RetryPolicy } from './retry.js';

/** What a write asks for. */
export type WriteOp =
  | { kind: 'register'; run: NewExecution }
  | {
      kind: 'update';
      patch: StatusPatch;
      /** Apply only to a run of this queue (or of none); otherwise the write reports `unmatched`. */
      queue: string | null;
      /** Create the run when it does not exist (an update before registration); else report `unmatched`. */
      create: boolean;
    };

/**
 * One write with the store's single-run statements: register (filling in a row an early update created), or update
 * (creating the row when the run is not registered yet and `create` is set).
 */
export async function applyWrite(store: ExecutionStore, taskId: string, op: WriteOp): Promise<WriteResult> {
  if (op.kind === 'register') return { kind: 'registered', ...(await store.register(op.run)) };
  let execution = await store.update(taskId, op.patch, op.queue);
  // An update before registration creates the row; if another writer created it meanwhile, update that one.
  for (let attempt = 0; !execution && op.create && op.queue === null && attempt < 3; attempt++) {
    if (await store.insertFromUpdate(taskId, op.patch)) execution = await store.getByTaskId(taskId);
    else execution = await store.update(taskId, op.patch);
  }
  return execution ? { kind: 'updated', run: execution, execution } : { kind: 'unmatched' };
}

/** What a write did. */
export type WriteResult =
  | { kind: 'registered'; execution: TaskExecution; created: boolean; filledIn: boolean }
  | { kind: 'updated'; run: ChangedRun; execution: TaskExecution | null }
  | { kind: 'unmatched' };

interface Waiter {
  resolve(result: WriteResult | undefined): void;
  reject(error: unknown): void;
  /** Answered (or acknowledged): nothing more is delivered to this caller. */
  done: boolean;
}

/** One caller's update, kept as written so the single-run path can apply it on its own. */
interface Write {
  patch: StatusPatch;
  create: boolean;
  waiter: Waiter;
}

/** One or more writes of one run that go out together, as one row of one statement. */
interface Entry {
  taskId: string;
  kind: 'register' | 'update';
  run?: NewExecution;
  effect: Effect;
  /** The updates folded into `effect`, in order (empty for a register). */
  writes: Write[];
  queue: string | null;
  create: boolean;
  full: boolean;
  waiters: Waiter[];
  /** Answers to hand to the callers once the entry is off the books (see `complete`). */
  answers: Array<() => void>;
  /** Counted in the buffer (acknowledged while the database was unreachable). */
  buffered: boolean;
  /** Gone out in a statement (only a run's first entry can be). */
  sent: boolean;
}

/** Options of the batcher. */
export interface WriteBatcherOptions extends RetryPolicy {
  store: ExecutionStore;
  logger: Logger;
  /** Called once per stored write (for the change feed), however many callers were folded into it. */
  onWritten(result: WriteResult): void;
  /** Statements in flight at once. @defaultValue `2` */
  maxInFlight?: number;
  /** Runs per statement at most. @defaultValue `500` */
  maxBatch?: number;
}

/**
 * Group commit for run writes (PostgreSQL). Writes of different runs that wait at the same time go out as one
 * statement (`ExecutionStore.registerBatch` / `updateBatch`), so a busy worker pays one round trip for many runs
 * instead of one per write. A write that finds nothing else pending or in flight goes straight out with the store's
 * single-run statement: a caller that awaits each write alone never waits for a batch. Right after a batch statement
 * answered its callers (concurrent callers, who write again at once) writes wait one event-loop turn instead, so the
 * whole wave goes out as one statement rather than its first write alone and the rest behind it.
 *
 * Each run's writes stay in order: a run has at most one write in flight, and the writes that arrive meanwhile are
 * folded into the one row its next statement carries (`foldPatch`: same final state as applying them one by one).
 * Transient failures are retried as in `WriteQueue` (callers acknowledged once their write is held). A statement the
 * database refuses for another reason is redone run by run and, within a run, write by write: only the refused write
 * fails (logged, its caller rejected); the run's later writes and every other run's writes still land, in order.
 */
export class WriteBatcher {
  private readonly runs = new Map<string, Entry[]>();
  private ready: Entry[] = [];
  private inFlight = 0;
  private scheduled = false;
  /**
   * A batch statement answered its callers during this event-loop turn: they are concurrent callers who will likely
   * write again in this turn, so their writes wait to go out together rather than the first going alone.
   */
  private wave = false;
  private readonly retrier: Retrier;
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private drained: Array<() => void> = [];

  constructor(private readonly options: WriteBatcherOptions) {
    this.retrier = new Retrier(options);
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Writes acknowledged but not yet stored. */
  get pending(): number {
    return this.retrier.buffered;
  }

  /**
   * Queues a write after the run's earlier ones. Resolves with what it did once stored, or with `undefined` as soon as
   * it is held for retry while the database is unreachable (see `WriteQueue`). `full` asks for the whole row.
   */
  submit(taskId: string, op: WriteOp, full: boolean): Promise<WriteResult | undefined> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, done: false };
      let entries = this.runs.get(taskId);
      if (!entries) {
        entries = [];
        this.runs.set(taskId, entries);
      }
      const last = entries.at(-1);
      // Fold into the run's last write when it has not gone out yet (only the head of a run can be in flight).
      const foldable = op.kind === 'update' && last?.kind === 'update' && !last.sent && last.queue === op.queue;
      let entry: Entry;
      if (foldable && last && op.kind === 'update') {
        entry = last;
        foldPatch(entry.effect, op.patch);
        entry.writes.push({ patch: op.patch, create: op.create, waiter });
        entry.create ||= op.create;
        entry.full ||= full;
      } else {
        entry = {
          taskId,
          kind: op.kind,
          effect: emptyEffect(),
          writes: [],
          queue: op.kind === 'update' ? op.queue : null,
          create: op.kind === 'update' ? op.create : true,
          full,
          waiters: [],
          answers: [],
          buffered: false,
          sent: false,
        };
        if (op.kind === 'register') entry.run = op.run;
        else {
          foldPatch(entry.effect, op.patch);
          entry.writes.push({ patch: op.patch, create: op.create, waiter });
        }
        entries.push(entry);
      }
      entry.waiters.push(waiter);
      if (this.retrier.degraded) this.acknowledge([entry]);
      if (entry !== last && entries.length === 1) {
        // Nothing else pending or in flight: no batch to join, so the single-run statement goes out now.
        if (this.inFlight === 0 && this.ready.length === 0 && !this.wave && !this.retrier.degraded)
          return this.direct(entry);
        this.ready.push(entry);
      }
      this.schedule();
    });
  }

  /** Waits until every write has landed, or `timeoutMs` passed (then the buffered writes are given up, logged). */
  async flush(timeoutMs = 30_000): Promise<boolean> {
    if (this.runs.size === 0) return true;
    const done = new Promise<void>((resolve) => this.drained.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = await Promise.race([done.then(() => true as const), timedOut]);
    clearTimeout(timer);
    if (!ok) {
      this.retrier.abandon = true;
      this.options.logger.error({ pending: this.pending }, 'agentcore-task: gave up on buffered writes at close');
    }
    return ok;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.ready.length === 0) return;
    this.scheduled = true;
    // One event-loop turn gathers the writes of everything that ran meanwhile into the next statement.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Sends one entry alone with the single-run statements (no batch statement, no wait for the next turn). */
  private direct(entry: Entry): void {
    this.inFlight++;
    entry.sent = true;
    void this.one(entry).finally(() => this.complete([entry]));
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.ready.length > 0) {
      const batch = this.ready.length <= this.maxBatch ? this.ready : this.ready.slice(0, this.maxBatch);
      this.ready = this.ready.length <= this.maxBatch ? [] : this.ready.slice(this.maxBatch);
      this.inFlight++;
      for (const entry of batch) entry.sent = true;
      void this.send(batch).finally(() => {
        // Only a batch of several runs' writes answers a wave; after a lone one, the next write may go direct again.
        if (batch.length > 1 && !this.wave) {
          this.wave = true;
          setImmediate(() => {
            this.wave = false;
          });
        }
        this.complete(batch);
      });
    }
  }

  /**
   * A statement is done: takes its entries off the books, then answers their callers. In that order, so a caller who
   * awaits one write and then writes again finds nothing in flight and goes the direct way.
   */
  private complete(batch: Entry[]): void {
    this.inFlight--;
    for (const entry of batch) this.finish(entry);
    for (const entry of batch) for (const answer of entry.answers.splice(0)) answer();
    if (this.ready.length > 0) this.pump();
    if (this.runs.size === 0) for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Drops a written entry and makes the run's next write ready. */
  private finish(entry: Entry): void {
    if (entry.buffered) this.retrier.release();
    const entries = this.runs.get(entry.taskId);
    if (!entries) return;
    entries.shift();
    if (entries.length === 0) this.runs.delete(entry.taskId);
    else this.ready.push(entries[0]!);
  }

  private async send(batch: Entry[]): Promise<void> {
    const registers = batch.filter((e) => e.kind === 'register');
    const updates = batch.filter((e) => e.kind === 'update');
    await Promise.all([
      registers.length > 0 ? this.sendRegisters(registers) : undefined,
      updates.length > 0 ? this.sendUpdates(updates) : undefined,
    ]);
  }

  private async sendRegisters(entries: Entry[]): Promise<void> {
    const { store } = this.options;
    const created = await this.batchOrEach(entries, () => store.registerBatch(entries.map((e) => e.run!)));
    if (!created) return;
    await Promise.all(
      entries.map(async (entry) => {
        const execution = created.get(entry.taskId);
        if (execution) return this.settle(entry, { kind: 'registered', execution, created: true, filledIn: false });
        await this.one(entry); // already there: the single-run path fills it in when an update created it
      }),
    );
  }

  private async sendUpdates(entries: Entry[]): Promise<void> {
    const { store } = this.options;
    const items = entries.map((e) => ({ taskId: e.taskId, queue: e.queue, effect: e.effect, full: e.full }));
    const changed = await this.batchOrEach(entries, () => store.updateBatch(items));
    if (!changed) return;
    await Promise.all(
      entries.map(async (entry) => {
        const hit = changed.get(entry.taskId);
        if (hit) return this.settle(entry, { kind: 'updated', ...hit });
        if (entry.queue !== null || !entry.create) return this.settle(entry, { kind: 'unmatched' });
        await this.one(entry); // no such run yet: the single-run path creates it
      }),
    );
  }

  /**
   * Runs a batch statement, retrying while the database is unreachable. When the database refuses it, every entry
   * goes the single-run way (`one`), so only the refused writes fail; returns `undefined` then.
   */
  private async batchOrEach<T>(entries: Entry[], statement: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.retrier.run(statement, () => this.acknowledge(entries));
    } catch (error) {
      if (this.retrier.abandon) {
        for (const entry of entries) this.fail(entry, entry.waiters, error);
        return undefined;
      }
      await Promise.all(entries.map((entry) => this.one(entry)));
      return undefined;
    }
  }

  /**
   * The single-run path: a register, or the run's updates one at a time in order, each with the store's own
   * statement. An update the database refuses is skipped (logged, its caller rejected) and the next one still goes.
   */
  private async one(entry: Entry): Promise<void> {
    const { store } = this.options;
    const acknowledge = () => this.acknowledge([entry]);
    if (entry.kind === 'register') {
      try {
        const run = entry.run!;
        const result = await this.retrier.run(
          () => applyWrite(store, entry.taskId, { kind: 'register', run }),
          acknowledge,
        );
        this.settle(entry, result);
      } catch (error) {
        this.fail(entry, entry.waiters, error);
      }
      return;
    }
    let landed: WriteResult | undefined;
    for (const [i, write] of entry.writes.entries()) {
      const op: WriteOp = { kind: 'update', patch: write.patch, queue: entry.queue, create: write.create };
      try {
        const result = await this.retrier.run(() => applyWrite(store, entry.taskId, op), acknowledge);
        if (result.kind !== 'unmatched') landed = result;
        this.answer(entry, [write.waiter], result);
      } catch (error) {
        if (this.retrier.abandon) {
          this.fail(
            entry,
            entry.writes.slice(i).map((w) => w.waiter),
            error,
          );
          break;
        }
        this.fail(entry, [write.waiter], error, write.patch);
      }
    }
    if (landed) this.options.onWritten(landed);
  }

  /** The entry's writes are stored: announces it once and answers every caller folded into it. */
  private settle(entry: Entry, result: WriteResult): void {
    this.options.onWritten(result);
    this.answer(entry, entry.waiters, result);
  }

  private answer(entry: Entry, waiters: Waiter[], result: WriteResult): void {
    for (const w of waiters) {
      if (w.done) continue;
      w.done = true;
      entry.answers.push(() => w.resolve(result));
    }
  }

  /**
   * Writes of `entry` that could not be stored. Logged naming the run (and the field, when the database or the write
   * tells which); a caller still waiting is rejected (the tracker then logs or throws, per `onRecordError`).
   */
  private fail(entry: Entry, waiters: Waiter[], error: unknown, patch?: StatusPatch): void {
    const fields = patch ? patchFields(patch) : entry.run ? ['taskArgs', 'taskKwargs', 'metadata'] : [];
    const column = (error as { column?: unknown } | null)?.column;
    const field = typeof column === 'string' ? column : fields.length === 1 ? fields[0] : undefined;
    const acknowledged = waiters.some((w) => w.done);
    const context = { err: error, taskId: entry.taskId, field, fields };
    if (acknowledged) this.options.logger.error(context, 'agentcore-task: a buffered write could not be stored');
    else
      this.options.logger.warn(
        context,
        `agentcore-task: the database refused a ${entry.kind} of run ${entry.taskId}; the run's other writes go on`,
      );
    for (const w of waiters) {
      if (w.done) continue;
      w.done = true;
      entry.answers.push(() => w.reject(error));
    }
  }

  /** Acknowledges the waiters of entries held for retry (while the buffer has room). */
  private acknowledge(entries: Entry[]): void {
    for (const entry of entries) {
      if (!entry.buffered) {
        if (!this.retrier.hold()) continue;
        entry.buffered = true;
      }
      for (const w of entry.waiters) {
        if (w.done) continue;
        w.done = true;
        w.resolve(undefined);
      }
    }
  }
}

/** The fields an update writes, as the tracker's callers name them (`metadata.<key>` per key). */
function patchFields(patch: StatusPatch): string[] {
  const fields: string[] = [];
  if (patch.status !== undefined) fields.push('status');
  if (patch.resultJson !== undefined) fields.push('result');
  if (patch.error !== undefined) fields.push('error');
  if (patch.traceback !== undefined) fields.push('traceback');
  for (const [key] of patch.metadata ?? []) fields.push(`metadata.${key}`);
  return fields;
}
