import type { JobState } from 'bullmq';
import type { AgentcoreTask } from '../../create.js';
import { coerceError } from '../../errors.js';
import { isCompletedStatus, TaskStatus, type TaskStatusValue } from '../../status.js';
import { progressMetadata } from '../../tracker/tracker.js';
import type { ProgressInput, RegisterTaskInput, UpdateTaskInput } from '../../types.js';
import { collidedTaskId, jobArguments, jobTaskName, progressInput, takenByAnotherQueue } from './lifecycle.js';
import { JobFetcher, type RecorderJob } from './recorder-fetcher.js';
import { loadPosition, type RecorderPosition, savePosition } from './recorder-position.js';
import { Watermark } from './recorder-watermark.js';
import { jobStateToStatus } from './source.js';

/** The part of a BullMQ `Queue` the recorder uses (bullmq 5 or 6, Redis or PostgreSQL backend). */
export interface RecorderQueue {
  readonly name: string;
  getJob(jobId: string): Promise<RecorderJob | undefined>;
  getJobs(types: string[], start?: number, end?: number, asc?: boolean): Promise<Array<RecorderJob | undefined>>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  /** Ids of the jobs in `types`, newest first unless `asc` (no job is read). */
  getRanges(types: string[], start?: number, end?: number, asc?: boolean): Promise<string[]>;
  close(): Promise<void>;
}

/** The part of a BullMQ `QueueEvents` the recorder uses. */
export interface RecorderEvents {
  on(event: string, listener: (args: Record<string, unknown>, eventId: string) => void): unknown;
  run(): Promise<void>;
  close(): Promise<void>;
}

/** How one queue is recorded (resolved options). */
export interface QueueRecordingOptions {
  module: string;
  jobData: boolean;
  positionKey: string;
  positionIntervalMs: number;
  gapCheckIntervalMs: number;
  reconcileIntervalMs: number;
  reconcilePageSize: number;
  sweepIntervalMs: number;
  /** How often the newest ids of the completed and failed sets are checked against the runs (`0`: never). */
  finishedCheckIntervalMs: number;
  clockMarginMs: number;
  /** Reads the id of the newest event trimmed from the stream (Redis); `undefined` where it cannot be known. */
  trimmedThrough?: () => Promise<string | undefined>;
}

/** What one reconcile pass found. */
export interface ReconcileSummary {
  /** Jobs read from the queue's sets. */
  jobs: number;
  /** `true` for the full pass (every set, back to the stored position); `false` for a pass after a gap. */
  full: boolean;
}

/** Live figures of one recorded queue. */
export interface QueueRecordingStats {
  queue: string;
  /** Events received since the recorder started. */
  events: number;
  /** Events received whose writes have not landed yet. */
  inFlight: number;
  /** The newest event id up to which everything is written (what a restart resumes after). */
  committedEventId: string | undefined;
  /** Reconcile passes done (the first at start). */
  reconciles: number;
  /** Gaps noticed (connection errors, events trimmed before they were read). */
  gaps: number;
  /** Runs whose missing event a quiet-job read made up for (see `sweepIntervalMs`). */
  sweptWrites: number;
  /**
   * Runs finished from the queue's completed or failed set because their final event never came (see
   * `finishedCheckIntervalMs`).
   */
  checkedWrites: number;
}

/** What the recorder knows of one job while it follows it. */
interface Entry {
  readonly jobId: string;
  name: string | undefined;
  /** Resolves to the run's `task_id` once registered; `null` when no run could be registered (job gone, no name). */
  taskId: Promise<string | null> | undefined;
  /** This job's steps run one after another, in event order. */
  chain: Promise<void>;
  pending: number;
  /**
   * Number of the job's current (or last) attempt, as BullMQ counts them (`attemptsMade + 1` while it runs): counted
   * from the events when the recorder saw the job added, else taken from the job when first read.
   */
  attempt: number;
  /** The `added` event was seen: the attempt count is the recorder's own, from the job's first event. */
  sawAdded: boolean;
  /** An attempt was marked STARTED and has not ended yet. */
  running: boolean;
  finished: boolean;
  /** Number of the last event of this job received (see `QueueRecording.received`). */
  lastEvent: number;
  /** When a running job is read again if no event of it arrives before (see `sweep`). */
  checkAt: number;
  /** Quiet time before the next such read (doubles each time, up to a minute). */
  quietMs: number;
}

/** The result of a step: the write it submitted (awaited before its event counts as done), if any. */
type StepResult = { written: Promise<unknown> } | undefined;

/** Jobs followed at once; beyond it the oldest idle ones are forgotten (read again when they show up). */
const MAX_ENTRIES = 50_000;

const STALLED_ERROR = 'job stalled (the worker running it lost its lock); moved back to waiting';

const ALL_STATES = ['active', 'waiting', 'prioritized', 'delayed', 'waiting-children', 'completed', 'failed'];
const GAP_STATES = ['active', 'completed', 'failed'];
const FINISHED_STATES = ['completed', 'failed'] as const;

/** Pages of one finished set a check reads at most: a busy or huge set is never walked whole. */
const MAX_CHECK_PAGES = 10;
/**
 * Suspects one check reads and writes at most; the rest stay suspects for the next check. A recorder far behind its
 * events makes many jobs look unfinished at once: reading them all together would slow it down further.
 */
const MAX_SETTLES_PER_CHECK = 200;

const noop = () => {};

/**
 * Records the runs of one BullMQ queue from its event stream (see `recordQueues`). Each event becomes a step on its
 * job's chain, so one job's writes keep the order of its events while different jobs' writes go out together (the
 * tracker batches them on PostgreSQL); the event handler itself never waits. The stream position saved is the
 * watermark below which every event's writes have landed.
 */
export class QueueRecording {
  private readonly entries = new Map<string, Entry>();
  private readonly watermark = new Watermark();
  private readonly fetcher: JobFetcher;
  private events: RecorderEvents | undefined;
  private consuming: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;
  private startedAt = 0;
  /** Events received so far (a sequence shared by all jobs). */
  private received = 0;
  private lastReceivedId: string | undefined;
  private lastEventAt = 0;
  private saved: string | undefined;
  private reconciling: Promise<ReconcileSummary> | undefined;
  private gapFrom: number | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private gapRetryMs = 1_000;
  private reconciles = 0;
  private gaps = 0;
  private sweptWrites = 0;
  private checkedWrites = 0;
  /**
   * Ids of jobs whose run this recorder saw finish (its entry is gone), oldest first, so the finished-set check
   * does not read them again. Bounded: a forgotten one is read once more if it is still among the newest.
   */
  private readonly done = new Set<string>();
  private readonly doneLimit: number;
  /** Per finished set, the ids of the first page the last check or reconcile read (where the next check can stop). */
  private readonly marks = new Map<string, Set<string>>();
  /** Finished jobs whose run is not known to be finished, with the check that first saw them. */
  private readonly suspects = new Map<string, number>();
  private checks = 0;
  private checking = false;
  /** Jobs that finished before this (epoch ms) were recorded by an earlier recorder (see `start`). */
  private recordedBefore: number | undefined;

  constructor(
    private readonly tasks: AgentcoreTask,
    private readonly queue: RecorderQueue,
    private readonly openEvents: (lastEventId: string) => Promise<RecorderEvents>,
    private readonly options: QueueRecordingOptions,
  ) {
    this.fetcher = new JobFetcher(
      (id) => queue.getJob(id),
      (error, jobId) => this.warn(error, { jobId }, 'could not read a job'),
    );
    // At least what the walks of two checks can cover.
    this.doneLimit = Math.max(MAX_ENTRIES, 2 * FINISHED_STATES.length * MAX_CHECK_PAGES * options.reconcilePageSize);
  }

  /**
   * Resumes the event stream after the stored position (from the oldest event the stream holds when there is none),
   * then reconciles from the queue's sets. Resolves when that first reconcile is done.
   */
  async start(): Promise<ReconcileSummary> {
    this.startedAt = Date.now();
    let position: RecorderPosition | null = null;
    try {
      position = await loadPosition(this.tasks.db, this.options.positionKey);
    } catch (error) {
      this.warn(error, {}, 'could not read the stored position; replaying the whole event stream');
    }
    this.saved = position?.eventId;
    // Listening starts before the sets are read, so a job that changes during the read is seen by its events.
    const events = await this.openEvents(position?.eventId ?? '0');
    this.events = events;
    for (const name of ['added', 'waiting', 'delayed', 'active', 'progress', 'completed', 'failed', 'stalled']) {
      events.on(name, (args: Record<string, unknown>, eventId: string) => this.onEvent(name, args, eventId));
    }
    events.on('error', (error) => this.onConnectionError(error));
    this.consuming = events.run().catch((error) => {
      if (!this.closing) this.warn(error, {}, 'the event stream stopped');
    });
    this.timers.push(setInterval(() => void this.savePosition(), this.options.positionIntervalMs));
    if (this.options.trimmedThrough && this.options.gapCheckIntervalMs > 0)
      this.timers.push(setInterval(() => void this.checkTrimmed(), this.options.gapCheckIntervalMs));
    if (this.options.reconcileIntervalMs > 0)
      this.timers.push(
        setInterval(() => {
          this.gapFrom ??= Date.now() - this.options.reconcileIntervalMs;
          this.reconcileGap();
        }, this.options.reconcileIntervalMs),
      );
    if (this.options.sweepIntervalMs > 0)
      this.timers.push(setInterval(() => this.sweep(), this.options.sweepIntervalMs));
    if (this.options.finishedCheckIntervalMs > 0)
      this.timers.push(setInterval(() => void this.checkFinished(), this.options.finishedCheckIntervalMs));
    for (const t of this.timers) t.unref();
    const since = position ? position.at - this.options.clockMarginMs : undefined;
    this.recordedBefore = since;
    return this.reconcile(true, since);
  }

  /** Live figures. */
  stats(): QueueRecordingStats {
    return {
      queue: this.queue.name,
      events: this.received,
      inFlight: this.watermark.inFlight,
      committedEventId: this.watermark.committed?.eventId ?? this.saved,
      reconciles: this.reconciles,
      gaps: this.gaps,
      sweptWrites: this.sweptWrites,
      checkedWrites: this.checkedWrites,
    };
  }

  /** Resolves once every event received so far is written and the position saved (or `timeoutMs` passed: `false`). */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.watermark.inFlight > 0 || this.reconciling) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.savePosition();
    return true;
  }

  /** Stops reading events, lets the writes of events already read land (up to `timeoutMs`), saves the position. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.gapTimer);
    await this.events?.close().catch(noop);
    await this.consuming;
    const until = Date.now() + timeoutMs;
    while ((this.watermark.inFlight > 0 || this.reconciling || this.checking) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    await this.savePosition();
    await this.queue.close().catch(noop);
  }

  // --- events -------------------------------------------------------------------------------------------------

  private onEvent(event: string, args: Record<string, unknown>, eventId: string): void {
    const jobId = typeof args?.jobId === 'string' ? args.jobId : undefined;
    if (!jobId || this.closing) return;
    this.received++;
    this.lastReceivedId = eventId;
    this.lastEventAt = Date.now();
    const entry = this.entry(jobId);
    entry.lastEvent = this.received;
    entry.quietMs = this.options.sweepIntervalMs;
    entry.checkAt = this.lastEventAt + entry.quietMs;
    if (event === 'added') {
      entry.sawAdded = true;
      if (typeof args.name === 'string') entry.name ??= args.name;
    }
    const action = this.actionFor(event, args, entry);
    const seq = this.watermark.begin(eventId);
    this.step(entry, action).finally(() => this.watermark.end(seq));
  }

  /** What an event writes, as a step of its job. */
  private actionFor(event: string, args: Record<string, unknown>, e: Entry): (e: Entry) => Promise<StepResult> {
    switch (event) {
      case 'active':
        return async () => {
          const taskId = await this.ensure(e);
          e.running = true;
          e.attempt++;
          return this.write(e, taskId, TaskStatus.STARTED, { metadata: { attempt: e.attempt } });
        };
      case 'progress': {
        const input = progressInput(args.data as ProgressInput);
        return async () => {
          const taskId = await this.ensure(e);
          if (!input) return undefined;
          return this.write(e, taskId, undefined, { metadata: progressMetadata(input) });
        };
      }
      case 'completed':
        return async () => {
          const taskId = await this.ensure(e);
          e.finished = true;
          e.running = false;
          return this.write(e, taskId, TaskStatus.SUCCESS, { result: args.returnvalue ?? null });
        };
      case 'failed':
        return async () => {
          // The event carries the reason; the stack is read once, only for failures.
          const [taskId, job] = await Promise.all([this.ensure(e), this.fetcher.get(e.jobId)]);
          e.finished = true;
          e.running = false;
          const reason = typeof args.failedReason === 'string' && args.failedReason ? args.failedReason : undefined;
          return this.write(e, taskId, TaskStatus.FAILURE, {
            error: reason ?? (job?.failedReason || 'failed'),
            traceback: lastStack(job),
            // Read after the failure, `attemptsMade` counts the final attempt.
            metadata: { attempt: job?.attemptsMade || e.attempt },
          });
        };
      case 'stalled':
        return async () => {
          const taskId = await this.ensure(e);
          // BullMQ does not count a stalled attempt: the next start has the same number.
          if (e.running) e.attempt = Math.max(0, e.attempt - 1);
          e.running = false;
          return this.write(e, taskId, TaskStatus.RETRY, {
            error: STALLED_ERROR,
            metadata: { stalled_at: new Date().toISOString() },
          });
        };
      case 'waiting':
      case 'delayed':
        // Back from active: a failed attempt that BullMQ retries (moved with a backoff to delayed, or straight to
        // waiting), or the processor moved its job (DelayedError, rate limit, a stall). Otherwise a new job.
        if (event === 'waiting' && args.prev !== 'active')
          return async () => {
            await this.ensure(e);
            return undefined;
          };
        return async () => {
          const taskId = await this.ensure(e);
          if (event === 'delayed' && !e.running) return undefined; // added with a delay
          return this.requeued(e, taskId);
        };
      default:
        return async () => undefined;
    }
  }

  /**
   * A job left `active` without ending: `RETRY` when the attempt failed (BullMQ counted it: `attemptsMade` reached
   * its number; the job is read after the event, so it can only be further on, never behind), else `PENDING` (the
   * processor moved it: DelayedError, rate limit), as `tracked` records them.
   */
  private async requeued(e: Entry, taskId: string | null): Promise<StepResult> {
    const job = await this.fetcher.get(e.jobId);
    const wasRunning = e.running;
    e.running = false;
    if (!job || typeof job.finishedOn === 'number') return undefined;
    const failed = wasRunning ? job.attemptsMade >= e.attempt : job.attemptsMade > 0 && !!job.failedReason;
    if (failed) {
      return this.write(e, taskId, TaskStatus.RETRY, {
        error: job.failedReason || 'failed',
        traceback: lastStack(job),
        metadata: { attempt: wasRunning ? e.attempt : job.attemptsMade },
      });
    }
    if (!wasRunning) return undefined;
    e.attempt = Math.max(0, e.attempt - 1); // not counted by BullMQ: the next start has the same number
    return this.write(e, taskId, TaskStatus.PENDING);
  }

  // --- jobs and their runs ------------------------------------------------------------------------------------

  private entry(jobId: string): Entry {
    let e = this.entries.get(jobId);
    if (!e) {
      e = {
        jobId,
        name: undefined,
        taskId: undefined,
        chain: Promise.resolve(),
        pending: 0,
        attempt: 0,
        sawAdded: false,
        running: false,
        finished: false,
        lastEvent: 0,
        checkAt: 0,
        quietMs: this.options.sweepIntervalMs,
      };
      this.entries.set(jobId, e);
      this.done.delete(jobId); // followed again (retried, or its events replayed)
      if (this.entries.size > MAX_ENTRIES) this.evict();
    }
    return e;
  }

  /** Forgets the oldest jobs with nothing in flight (their next event reads them again). */
  private evict(): void {
    let excess = this.entries.size - MAX_ENTRIES + Math.ceil(MAX_ENTRIES / 10);
    for (const [id, e] of this.entries) {
      if (excess <= 0) break;
      if (e.pending > 0 || e.running) continue;
      this.entries.delete(id);
      excess--;
    }
  }

  /** Runs `fn` after the job's earlier steps; resolves once it and the write it submitted are done (never rejects). */
  private step(e: Entry, fn: (e: Entry) => Promise<StepResult>): Promise<void> {
    e.pending++;
    const run = e.chain.then(() => fn(e));
    // The next step starts once this one submitted its write: the tracker keeps one run's writes in order.
    e.chain = run.then(noop, noop);
    return run
      .then((out) => out?.written)
      .then(noop, (error) => this.warn(error, { jobId: e.jobId }, 'could not record an event'))
      .finally(() => {
        e.pending--;
        if (e.finished && e.pending === 0 && this.entries.get(e.jobId) === e) {
          this.entries.delete(e.jobId);
          this.noteDone(e.jobId);
        }
      });
  }

  /** The run's `task_id`, registering the run the first time (one read of the job when its name or data is needed). */
  private ensure(e: Entry, known?: RecorderJob): Promise<string | null> {
    e.taskId ??= this.register(e, known);
    return e.taskId;
  }

  private async register(e: Entry, known?: RecorderJob): Promise<string | null> {
    let job = known;
    if (!job && (this.options.jobData || e.name === undefined)) job = await this.fetcher.get(e.jobId);
    if (job) {
      e.name ??= job.name;
      // Joined mid-way (the recorder did not see the job added): the count so far comes from the job. A finished
      // job (its events are being replayed) counted its last attempt too, which the replayed start is.
      if (!e.sawAdded && !known) {
        const made = job.attemptsMade ?? 0;
        e.attempt = typeof job.finishedOn === 'number' ? Math.max(0, made - 1) : made;
      }
    }
    if (e.name === undefined) return null; // gone from the queue, name never seen: only an existing run is updated
    const queueName = this.queue.name;
    const input: RegisterTaskInput = {
      taskId: e.jobId,
      taskName: jobTaskName({ name: e.name }),
      module: this.options.module,
      ...(this.options.jobData && job ? jobArguments(job.data) : {}),
      queueName,
    };
    try {
      const row = await this.tasks.tracker.registerTaskExecution(input);
      if (row && takenByAnotherQueue(row, queueName)) {
        // The same id scheme as `tracked`: `<queue>:<id>` when a run of another queue holds the job's id.
        const taskId = collidedTaskId(this.tasks, queueName, e.jobId, row.queueName);
        await this.tasks.tracker.registerTaskExecution({ ...input, taskId });
        return taskId;
      }
    } catch (error) {
      this.warn(error, { jobId: e.jobId }, 'could not register a run');
    }
    return e.jobId;
  }

  /**
   * Submits a write of the run and returns it (not awaited here). A job whose run could not be registered updates
   * only an existing run of this queue, never creating one without a name.
   */
  private write(e: Entry, taskId: string | null, status: TaskStatusValue | undefined, fields: UpdateTaskInput = {}) {
    const tracker = this.tasks.tracker;
    const written =
      taskId === null
        ? tracker.recordStatus(e.jobId, status, fields, this.queue.name)
        : tracker.recordStatus(taskId, status, fields);
    return { written };
  }

  // --- reconcile ----------------------------------------------------------------------------------------------

  /**
   * Reads the queue's sets and records each job's state, for what the event stream could not tell (the recorder
   * was down, events were trimmed). `full` reads every set (at start); otherwise only active, completed and failed
   * jobs (after a gap: a job still waiting is recorded by its next event). Finished jobs are read newest first and
   * only back to `since`. One pass at a time; a pass asked for during another runs after it.
   */
  reconcile(full: boolean, since?: number): Promise<ReconcileSummary> {
    const previous = this.reconciling ?? Promise.resolve(undefined);
    const pass = previous
      .catch(noop)
      .then(() => this.reconcilePass(full, since))
      .finally(() => {
        if (this.reconciling === pass) this.reconciling = undefined;
      });
    this.reconciling = pass;
    return pass;
  }

  private async reconcilePass(full: boolean, since?: number): Promise<ReconcileSummary> {
    const startSeq = this.received;
    let jobs = 0;
    for (const state of full ? ALL_STATES : GAP_STATES) {
      const finished = state === 'completed' || state === 'failed';
      for (let start = 0; !this.closing; start += this.options.reconcilePageSize) {
        const page = await this.queue.getJobs([state], start, start + this.options.reconcilePageSize - 1, false);
        // What this pass covers ends here: the next finished-set check reads down to one page past these.
        if (finished && start === 0) this.marks.set(state, new Set(page.flatMap((job) => (job?.id ? [job.id] : []))));
        let older = false;
        const steps: Promise<void>[] = [];
        for (const job of page) {
          if (!job?.id) continue;
          if (finished && since !== undefined && typeof job.finishedOn === 'number' && job.finishedOn < since) {
            older = true; // newest first: the rest of this set is older too
            // Recorded before the stored position: the finished-set check need not read it again.
            if (!this.entries.has(String(job.id))) this.noteDone(String(job.id));
            continue;
          }
          jobs++;
          steps.push(this.snapshot(job, state as JobState, startSeq));
        }
        // One page in flight at a time: a set of a million jobs never sits in memory at once.
        await Promise.all(steps);
        if (older && finished && page.length === this.options.reconcilePageSize) {
          // The next page is older too: noted, so the finished-set check does not read those jobs again.
          const size = this.options.reconcilePageSize;
          const next = await this.queue.getRanges([state], start + size, start + 2 * size - 1, false);
          for (const id of next) if (!this.entries.has(String(id))) this.noteDone(String(id));
        }
        if (older || page.length < this.options.reconcilePageSize) break;
      }
    }
    this.reconciles++;
    return { jobs, full };
  }

  /** Records one job as the queue's set shows it, unless its own events since the pass began are newer. */
  private snapshot(job: RecorderJob, state: JobState, startSeq: number): Promise<void> {
    const e = this.entry(String(job.id));
    return this.step(e, async () => {
      const taskId = await this.ensure(e, job);
      const completed = state === 'completed' || state === 'failed';
      if (!completed && e.lastEvent > startSeq) return undefined;
      return this.applyState(e, taskId, job, state);
    });
  }

  /**
   * Reads again the jobs that are running and have been quiet for a while: an event the stream never delivered (bullmq
   * 6's PostgreSQL backend can skip one when two transactions commit out of order) would leave the run STARTED. One
   * read per quiet job, less often the longer it stays quiet; a job whose events flow is never read.
   */
  private sweep(): void {
    if (this.closing) return;
    const now = Date.now();
    for (const e of this.entries.values()) {
      if (!e.running || e.pending > 0 || now < e.checkAt) continue;
      e.quietMs = Math.min(e.quietMs * 2, 60_000);
      e.checkAt = now + e.quietMs;
      const seen = e.lastEvent;
      this.step(e, async () => {
        const job = await this.fetcher.get(e.jobId);
        if (!job?.getState || e.lastEvent !== seen) return undefined; // gone, or its events came meanwhile
        const state = await job.getState();
        if (state === 'active' || state === 'unknown' || e.lastEvent !== seen) return undefined;
        const taskId = await this.ensure(e);
        this.sweptWrites++;
        return this.applyState(e, taskId, job, state as JobState);
      });
    }
  }

  /**
   * Makes up for final events the stream never delivered (bullmq 6's PostgreSQL backend skips an event whose
   * transaction commits after a newer one was read; a job whose `active` and `completed` both went missing is not
   * even seen running, so `sweep` cannot help). Reads the newest ids of the completed and failed sets, page by page,
   * down to one page past where the previous check began; an id whose run is not known to be finished is read and
   * written only if it still is not at the next check (its event may merely be on its way). Ids only, so a quiet
   * check costs a few range reads.
   */
  private async checkFinished(): Promise<void> {
    if (this.closing || this.checking || this.reconciling || this.reconciles === 0) return;
    this.checking = true;
    const check = ++this.checks;
    try {
      for (const state of FINISHED_STATES) await this.walkFinished(state, check);
    } catch (error) {
      if (!this.closing) this.warn(error, {}, 'could not read the finished jobs (checked again at the next tick)');
    }
    try {
      const due = [...this.suspects]
        .filter(([, seen]) => seen < check)
        .slice(0, MAX_SETTLES_PER_CHECK)
        .map(([id]) => id);
      await Promise.all(due.map((id) => this.settle(id)));
    } finally {
      this.checking = false;
    }
  }

  /** Reads one finished set's newest ids, noting those whose run is not known to be finished. */
  private async walkFinished(state: (typeof FINISHED_STATES)[number], check: number): Promise<void> {
    const size = this.options.reconcilePageSize;
    const marks = this.marks.get(state);
    let first: string[] | undefined;
    let metPage: number | undefined;
    for (let page = 0; page < MAX_CHECK_PAGES && !this.closing; page++) {
      const ids = await this.queue.getRanges([state], page * size, (page + 1) * size - 1, false);
      first ??= ids;
      for (const raw of ids) {
        const id = String(raw);
        if (metPage === undefined && marks?.has(id)) metPage = page;
        if (this.knownFinished(id)) this.suspects.delete(id);
        else if (!this.suspects.has(id)) this.suspects.set(id, check);
      }
      // Without marks (never so after the reconcile at start) one page is read.
      if (ids.length < size || !marks || (metPage !== undefined && page > metPage)) break;
    }
    this.marks.set(state, new Set((first ?? []).map(String)));
  }

  /** Reads a suspect job and writes its final state (a step of its job); kept for the next check if it cannot be read. */
  private async settle(jobId: string): Promise<void> {
    if (this.closing) return;
    if (this.knownFinished(jobId)) {
      this.suspects.delete(jobId);
      return;
    }
    const e = this.entry(jobId);
    let retry = false;
    await this.step(e, async () => {
      if (e.finished) return undefined; // its event came meanwhile
      let job: RecorderJob | undefined;
      let state: string | undefined;
      try {
        job = (await this.queue.getJob(jobId)) ?? undefined;
        state = await job?.getState?.();
      } catch (error) {
        retry = !this.closing;
        if (retry) this.warn(error, { jobId }, 'could not read a finished job (read again at the next check)');
        return undefined;
      }
      // Gone (removed on completion, cleaned) or back in the queue (retried): its events tell the rest.
      if (!job || (state !== 'completed' && state !== 'failed') || e.finished) return undefined;
      // Finished before the stored position (less the margin): recorded then, its run perhaps cleaned up since.
      if (this.recordedBefore !== undefined && (job.finishedOn ?? Number.POSITIVE_INFINITY) < this.recordedBefore) {
        e.finished = true; // not read again
        return undefined;
      }
      const taskId = await this.ensure(e, job);
      this.checkedWrites++;
      return this.applyState(e, taskId, job, state);
    });
    if (!retry) this.suspects.delete(jobId);
  }

  /** The recorder saw the job's run finish (and has nothing of it in flight). */
  private knownFinished(jobId: string): boolean {
    const e = this.entries.get(jobId);
    return e ? e.finished : this.done.has(jobId);
  }

  private noteDone(jobId: string): void {
    this.done.delete(jobId);
    this.done.add(jobId);
    if (this.done.size > this.doneLimit) {
      const oldest = this.done.values().next().value;
      if (oldest !== undefined) this.done.delete(oldest);
    }
  }

  /** Writes the status the job's state in the queue means (nothing for a job still waiting its first attempt). */
  private applyState(e: Entry, taskId: string | null, job: RecorderJob, state: JobState): StepResult {
    const target = jobStateToStatus(job as Parameters<typeof jobStateToStatus>[0], state);
    e.running = target.status === TaskStatus.STARTED;
    if (isCompletedStatus(target.status)) e.finished = true;
    if (target.status === TaskStatus.PENDING) return undefined;
    const fields: UpdateTaskInput = {};
    if ('result' in target) fields.result = target.result;
    if (target.error !== undefined) fields.error = target.error;
    if (target.traceback !== undefined) fields.traceback = target.traceback;
    // As the events count them: a running attempt is `attemptsMade + 1`; a failed or finished one is counted.
    const attempt = e.running ? job.attemptsMade + 1 : job.attemptsMade;
    e.attempt = attempt;
    const progress = job.progress === 0 ? null : progressInput(job.progress as ProgressInput);
    fields.metadata = { ...(progress ? progressMetadata(progress) : {}), ...(attempt > 0 ? { attempt } : {}) };
    const { written } = this.write(e, taskId, target.status, fields);
    // Written now, from a read of the queue: the run's times are those of this write. The job's own are moved in.
    const ms = (value: number | undefined) => (typeof value === 'number' && value > 0 ? new Date(value) : undefined);
    const times = {
      createdAt: ms(job.timestamp),
      startedAt: ms(job.processedOn),
      finishedAt: isCompletedStatus(target.status) ? ms(job.finishedOn) : undefined,
    };
    return {
      written: written.then(async (run) => {
        if (!run || run === 'unmatched') return run;
        await this.tasks.tracker.store
          .backdate(run.taskId, times)
          .catch((error) => this.warn(error, { jobId: e.jobId }, "could not set a run's times from its job"));
        return run;
      }),
    };
  }

  // --- gaps and the stored position ---------------------------------------------------------------------------

  /** The connection dropped: events may be trimmed before it is back. Reconcile (again until it works). */
  private onConnectionError(error: unknown): void {
    if (this.closing) return;
    this.warn(error, {}, 'BullMQ connection error (the recorder reconciles once it is back)');
    this.noteGap();
  }

  private noteGap(): void {
    this.gaps++;
    this.gapFrom ??= this.lastEventAt || this.startedAt;
    this.reconcileGap();
  }

  /** Schedules one reconcile of the time since the gap began; retried with backoff while the queue cannot be read. */
  private reconcileGap(): void {
    if (this.closing || this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      const from = this.gapFrom;
      this.gapFrom = undefined;
      this.reconcile(false, from === undefined ? undefined : from - this.options.clockMarginMs).then(
        () => {
          this.gapTimer = undefined;
          this.gapRetryMs = 1_000;
          if (this.gapFrom !== undefined) this.reconcileGap();
        },
        (error) => {
          this.gapTimer = undefined;
          this.gapFrom = Math.min(this.gapFrom ?? Number.POSITIVE_INFINITY, from ?? this.startedAt);
          this.gapRetryMs = Math.min(this.gapRetryMs * 2, 30_000);
          this.warn(error, {}, 'reconcile failed; trying again');
          this.reconcileGap();
        },
      );
    }, this.gapRetryMs);
    this.gapTimer.unref();
  }

  /** Events trimmed from the stream before this recorder read them are a gap. */
  private async checkTrimmed(): Promise<void> {
    if (this.closing || !this.options.trimmedThrough) return;
    try {
      const trimmed = await this.options.trimmedThrough();
      // Read after the answer: anything received by now was not among what was trimmed unread.
      const last = this.lastReceivedId;
      if (trimmed !== undefined && last !== undefined && compareStreamIds(trimmed, last) > 0) this.noteGap();
    } catch {
      // The connection error itself is reported (and reconciled) by the event stream.
    }
  }

  private async savePosition(): Promise<void> {
    const committed = this.watermark.committed;
    if (!committed || committed.eventId === this.saved) return;
    try {
      await savePosition(this.tasks.db, this.tasks.tracker.store.dialect, this.options.positionKey, committed);
      this.saved = committed.eventId;
    } catch (error) {
      this.warn(error, {}, 'could not store the position (kept in memory; stored at the next try)');
    }
  }

  private warn(error: unknown, fields: Record<string, unknown>, message: string): void {
    this.tasks.logger.warn(
      { err: coerceError(error), queue: this.queue.name, ...fields },
      `agentcore-task recorder: ${message}`,
    );
  }
}

/** Compares two Redis stream ids (`<ms>-<seq>`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-');
  const [bm, bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms > 0n ? 1 : -1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq > 0n ? 1 : -1;
}

/** The last stack trace BullMQ kept for the job (`null` when none, or the job is gone). */
function lastStack(job: RecorderJob | undefined): string | null {
  const stack = job?.stacktrace;
  return stack?.length ? (stack[stack.length - 1] ?? null) : null;
}
