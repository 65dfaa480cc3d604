/**
 * `agentcore-task serve --demo`: demo users with fresh tokens, a little history, and demo tasks that keep running in
 * the background so the dashboard has something to show: runs with progress over several seconds, successes, a
 * failure with a real stack trace, a duplicate skipped by the lock, and a dead run marked by the timeout job.
 *
 * The tasks run through BullMQ (`dispatch` + a `tracked` worker on a demo queue, the timeout job on a BullMQ job
 * scheduler) when Redis is given, otherwise through the plain tracker API, as an application without a queue would
 * record its own background work. The task bodies are the same in both modes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue, Worker } from 'bullmq';
import type { AgentcoreTask } from '../create.js';
import { coerceError } from '../errors.js';
import { MARK_TIMEOUT_TASK_NAME } from '../maintenance/names.js';
import { redisOptionsFromUrl } from '../queue/bullmq/connection.js';
import { dispatch } from '../queue/bullmq/dispatch.js';
import { loadBullmq } from '../queue/bullmq/load.js';
import { createMaintenanceWorker } from '../queue/bullmq/maintenance.js';
import { tracked } from '../queue/bullmq/tracked.js';
import { TaskStatus } from '../status.js';
import type { CreatedBy, ProgressInput } from '../types.js';
import type { UsersFileEntry } from './users.js';

/** Where the demo keeps its runs unless `--database` is given. */
export const DEMO_DATABASE_URL = 'sqlite:./agentcore-task-demo.db';

/** Timings of the demo, in one place. */
export const DEMO_DEFAULTS = Object.freeze({
  /** Time between two demo tasks. */
  intervalMs: 1_800,
  /** The timeout of the demo's timeout job (the dead runs it marks went silent longer ago than this). */
  timeoutMinutes: 5,
  /** How often the timeout job runs (the real schedule is every 30 minutes). */
  markEveryMs: 30_000,
  /** How often a new dead run appears (a worker "killed" mid-task). */
  deadRunEveryMs: 60_000,
  /** Demo tasks in flight at most; the loop waits when there are more. */
  maxInFlight: 16,
  /** Runs of the past two weeks written on the first start, so the stats have a history. */
  historyRuns: 80,
});

/** Options of `startDemo`. */
export interface DemoOptions {
  /** Redis URL: run the demo tasks through BullMQ. Absent: through the plain tracker API. */
  redis?: string;
  /** The demo users (`createDemoUsers()`); the tasks are created by the two non-admin ones. */
  users: readonly UsersFileEntry[];
  /** Where problems of the demo itself are reported (never thrown). */
  warn: (message: string) => void;
}

/** A running demo. */
export interface RunningDemo {
  /** `plain tracker API` or `BullMQ queue <name>`. */
  readonly mode: string;
  /** Stops the loop, ends runs in flight (REVOKED, or FAILURE under BullMQ), closes the demo queues. Idempotent. */
  stop(): Promise<void>;
}

/** Two users and an admin, with tokens that are new at every start. */
export function createDemoUsers(): UsersFileEntry[] {
  const token = (name: string) => `demo-${name}-${randomBytes(12).toString('hex')}`;
  return [
    { token: token('alice'), id: 1, username: 'alice', is_admin: false },
    { token: token('bob'), id: 2, username: 'bob', is_admin: false },
    { token: token('admin'), id: 3, username: 'admin', is_admin: true },
  ];
}

// ── The demo's "business code": what the tasks do, whatever runs them ───────────────────────────────────────────

type Data = Record<string, unknown>;

/** What a task body receives: progress reporting and a sleep that ends when the demo stops. */
interface TaskContext {
  progress(progress: ProgressInput): Promise<void>;
  sleep(ms: number): Promise<void>;
}

/** An upload that got no answer, for the report failures of the history. */
class StorageTimeoutError extends Error {
  override name = 'StorageTimeoutError';
}

function uploadToStorage(key: string): never {
  throw new StorageTimeoutError(`Upload of ${key} timed out after 30000 ms`);
}

/** A declined payment, thrown a few calls deep so the stored stack trace looks like a real one. */
class PaymentDeclinedError extends Error {
  override name = 'PaymentDeclinedError';
  constructor(
    message: string,
    readonly declineCode: string,
  ) {
    super(message);
  }
}

function authorizeWithGateway(invoiceId: string, amount: number): never {
  throw new PaymentDeclinedError(
    `Card declined by the issuer for invoice ${invoiceId} (${amount.toFixed(2)} EUR): insufficient funds`,
    '51',
  );
}

function chargeCard(invoiceId: string, amount: number): { charge_id: string } {
  if (amount > 500) authorizeWithGateway(invoiceId, amount);
  return { charge_id: `ch_${randomBytes(6).toString('hex')}` };
}

/** The task bodies, by task name. Each reports progress the way an application would. */
function taskBodies(tasks: AgentcoreTask): Record<string, (data: Data, ctx: TaskContext) => Promise<unknown>> {
  const steps = async (ctx: TaskContext, list: Array<[step: string, message: string, ms: number]>) => {
    for (const [i, [step, message, ms]] of list.entries()) {
      await ctx.progress({ percent: (i / list.length) * 100, step, message });
      await ctx.sleep(ms / 2);
      await ctx.progress({ percent: ((i + 0.5) / list.length) * 100, step, message });
      await ctx.sleep(ms / 2);
    }
    await ctx.progress({ percent: 100, step: 'done', message: 'Done' });
  };
  // One ledger sync per account at a time: a second call while one runs is skipped (a task lock).
  const syncLedger = tasks.preventDuplicateTask(
    { lockName: 'billing.sync_ledger', lockParam: 'account_id', timeout: 120 },
    async (data: Data, ctx: TaskContext) => {
      await steps(ctx, [
        ['fetch', `Fetching transactions of ${data.account_id}`, 1_500],
        ['reconcile', 'Reconciling with the bank statement', 2_000],
        ['post', 'Posting journal entries', 1_500],
      ]);
      return { account_id: data.account_id, entries_posted: 20 + Math.floor(Math.random() * 80) };
    },
  );
  return {
    'reports.generate_monthly_report': async (data, ctx) => {
      await steps(ctx, [
        ['fetch', 'Fetching orders', 1_500],
        ['aggregate', 'Aggregating totals', 2_000],
        ['render', 'Rendering the PDF', 2_500],
        ['upload', 'Uploading to storage', 1_000],
      ]);
      return { storage_key: `reports/${data.month}/${data.customer}.pdf`, pages: 4 + Math.floor(Math.random() * 20) };
    },
    'emails.send_welcome_email': async (data, ctx) => {
      await ctx.sleep(400 + Math.random() * 800);
      return { message_id: `<${randomUUID()}@mail.example>`, to: data.to };
    },
    'emails.send_weekly_digest': async (data, ctx) => {
      const total = Number(data.recipients);
      for (let sent = 0; sent < total; sent += 50) {
        await ctx.progress({ percent: (sent / total) * 100, step: 'send', message: `Sent ${sent} of ${total}` });
        await ctx.sleep(700);
      }
      await ctx.progress({ percent: 100, step: 'send', message: `Sent ${total} of ${total}` });
      return { sent: total };
    },
    'billing.charge_invoice': async (data, ctx) => {
      await ctx.progress({ percent: 20, step: 'validate', message: 'Validating the invoice' });
      await ctx.sleep(600);
      await ctx.progress({ percent: 50, step: 'charge', message: 'Contacting the payment gateway' });
      await ctx.sleep(900);
      const charge = chargeCard(String(data.invoice_id), Number(data.amount));
      await ctx.progress({ percent: 100, step: 'charge', message: 'Paid' });
      return { invoice_id: data.invoice_id, ...charge };
    },
    'billing.sync_ledger': async (data, ctx) => {
      const result = await syncLedger(data, ctx);
      if ((result as { status?: string }).status === 'skipped') {
        // Recorded as SUCCESS with the skip payload as result (what the task returned), made visible in progress.
        await ctx.progress({ message: `Skipped: ${(result as { error: string }).error}`, skipped: true });
      }
      return result;
    },
  };
}

/** One demo task to run: name, module, data, creator, how long it waits in the queue, BullMQ attempts. */
interface DemoJob {
  name: string;
  module: string;
  data: Data;
  createdBy: CreatedBy;
  delayMs?: number;
  attempts?: number;
}

/** The demo's schedule: a varied sequence of jobs, repeated. `n` counts launches (for creators and amounts). */
function nextJobs(n: number, users: readonly UsersFileEntry[]): DemoJob[] {
  const user = (k: number): CreatedBy => {
    const u = users.filter((x) => !x.is_admin)[k % 2];
    return u ? { id: u.id, username: u.username ?? undefined } : null;
  };
  const customers = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
  const month = new Date().toISOString().slice(0, 7);
  const kinds: Array<() => DemoJob[]> = [
    () => [
      {
        name: 'reports.generate_monthly_report',
        module: 'reports',
        data: { month, customer: customers[n % customers.length] },
        createdBy: user(n),
      },
    ],
    () => [
      {
        name: 'emails.send_welcome_email',
        module: 'emails',
        data: { to: `user${n}@example.com` },
        createdBy: user(n),
      },
    ],
    () => [
      {
        name: 'billing.charge_invoice',
        module: 'billing',
        // Every other invoice is over the card's limit: a failure with a stack trace.
        data: { invoice_id: `INV-${1000 + n}`, amount: n % 2 === 0 ? 980 + n : 120 + n },
        createdBy: user(n),
        attempts: 2,
      },
    ],
    () => {
      // Two syncs of one account close together: the second finds the lock held and is skipped.
      const data = { account_id: `acct-${100 + (n % 3)}` };
      return [
        { name: 'billing.sync_ledger', module: 'billing', data, createdBy: user(n), delayMs: 100 },
        { name: 'billing.sync_ledger', module: 'billing', data, createdBy: user(n + 1), delayMs: 900 },
      ];
    },
    () => [
      {
        name: 'emails.send_weekly_digest',
        module: 'emails',
        data: { recipients: 300 + (n % 4) * 50 },
        createdBy: null,
        // Waits a moment in the queue first: PENDING on the dashboard.
        delayMs: 3_000,
      },
    ],
  ];
  return kinds[n % kinds.length]();
}

// ── Runners: the plain tracker API, or BullMQ ────────────────────────────────────────────────────────────────────

interface Runner {
  readonly mode: string;
  /** Queue name recorded on runs (BullMQ only). */
  readonly queueName: string | null;
  launch(job: DemoJob): Promise<void>;
  /** Starts running the timeout job every `markEveryMs`, the first time at once. */
  startTimeoutJob(): Promise<void>;
  close(): Promise<void>;
}

/** Runs each job in this process and records it with the tracker: register, STARTED, progress, SUCCESS/FAILURE. */
function plainRunner(
  tasks: AgentcoreTask,
  bodies: ReturnType<typeof taskBodies>,
  signal: AbortSignal,
  inFlight: Set<string>,
): Runner {
  const { tracker } = tasks;
  const running = new Set<Promise<void>>();
  let markTimer: NodeJS.Timeout | undefined;
  let marking: Promise<unknown> = Promise.resolve();
  const runMarkTimeout = () => {
    marking = tasks.maintenance
      .runMarkTimeoutJob({ timeoutMinutes: DEMO_DEFAULTS.timeoutMinutes })
      .catch((error) => tasks.logger.warn({ err: error }, 'demo: the timeout job failed'));
  };
  return {
    mode: 'plain tracker API',
    queueName: null,
    async startTimeoutJob() {
      runMarkTimeout();
      markTimer = setInterval(runMarkTimeout, DEMO_DEFAULTS.markEveryMs);
    },
    async launch(job) {
      const taskId = randomUUID();
      inFlight.add(taskId);
      await tracker.registerTaskExecution({
        taskId,
        taskName: job.name,
        module: job.module,
        taskKwargs: job.data,
        createdBy: job.createdBy,
      });
      const run = (async () => {
        try {
          await sleep((job.delayMs ?? 0) + 300 + Math.random() * 700, undefined, { signal });
          await tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
          const ctx: TaskContext = {
            progress: async (p) => {
              await tracker.reportProgress(taskId, p);
            },
            sleep: (ms) => sleep(ms, undefined, { signal }),
          };
          const result = await bodies[job.name](job.data, ctx);
          await tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result });
          inFlight.delete(taskId);
        } catch (thrown) {
          if (signal.aborted) return; // stop() revokes what is still in flight
          const error = coerceError(thrown);
          await tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, {
            error: error.message,
            traceback: error.stack ?? null,
          });
          inFlight.delete(taskId);
        }
      })();
      running.add(run);
      run.finally(() => running.delete(run)).catch(() => {});
    },
    async close() {
      clearInterval(markTimer);
      await Promise.allSettled([...running, marking]);
    },
  };
}

/**
 * Dispatches each job to a demo queue of its own (registered PENDING before it is added) and runs it in a `tracked`
 * worker; the timeout job runs on a BullMQ job scheduler processed by `createMaintenanceWorker`. Both queues are
 * removed from Redis when the demo stops.
 */
async function bullmqRunner(
  tasks: AgentcoreTask,
  bodies: ReturnType<typeof taskBodies>,
  signal: AbortSignal,
  inFlight: Set<string>,
  redis: string,
): Promise<Runner> {
  const { Queue, Worker, UnrecoverableError } = await loadBullmq('serve --demo --redis');
  const connection = redisOptionsFromUrl(redis);
  const queueName = `agentcore-task-demo-${randomBytes(3).toString('hex')}`;
  const maintenanceName = `${queueName}-maintenance`;
  const queue: Queue = new Queue(queueName, {
    connection,
    defaultJobOptions: { removeOnComplete: 500, removeOnFail: 500, backoff: { type: 'fixed', delay: 2_000 } },
  });
  const maintenanceQueue: Queue = new Queue(maintenanceName, { connection });
  const worker: Worker = new Worker(
    queueName,
    tracked(
      tasks,
      async (job, ctx) => {
        const context: TaskContext = {
          progress: (p) => ctx.progress(p),
          sleep: async (ms) => {
            try {
              await sleep(ms, undefined, { signal });
            } catch {
              // BullMQ's word for a job that must not be retried.
              throw new UnrecoverableError('Stopped: the demo was shut down while this run was in progress');
            }
          },
        };
        const result = await bodies[job.name](job.data as Data, context);
        inFlight.delete(ctx.taskId);
        return result;
      },
      { module: 'demo', heartbeatIntervalMs: 5_000 },
    ),
    { connection, concurrency: 8 },
  );
  worker.on('failed', (job) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) inFlight.delete(String(job.id));
  });
  const onError = (error: Error) => tasks.logger.warn({ err: error }, 'demo: BullMQ error');
  queue.on('error', onError);
  maintenanceQueue.on('error', onError);
  worker.on('error', onError);
  const maintenanceWorker = await createMaintenanceWorker(tasks, { connection, queueName: maintenanceName });
  return {
    mode: `BullMQ queue ${queueName}`,
    queueName,
    async startTimeoutJob() {
      // A job scheduler, as scheduleMaintenance() sets up for real (every 30 minutes there); its first job runs now.
      await maintenanceQueue.upsertJobScheduler(
        'demo-mark-timed-out',
        { every: DEMO_DEFAULTS.markEveryMs },
        { name: MARK_TIMEOUT_TASK_NAME, data: { timeoutMinutes: DEMO_DEFAULTS.timeoutMinutes } },
      );
    },
    async launch(job) {
      const { job: added } = await dispatch(tasks, queue, job.name, job.data, {
        module: job.module,
        createdBy: job.createdBy,
        jobOptions: { delay: job.delayMs, attempts: job.attempts ?? 1 },
      });
      inFlight.add(String(added.id));
    },
    async close() {
      await worker.close();
      await maintenanceWorker.close();
      for (const q of [queue, maintenanceQueue]) {
        await q.obliterate({ force: true }).catch((error) => tasks.logger.warn({ err: error }, 'demo: obliterate'));
        await q.close();
      }
    },
  };
}

// ── History and dead runs: rows written directly, with timestamps in the past ────────────────────────────────────

/** Moves a run's timestamps into the past (the demo's way to have history and a run whose worker died). */
async function backdate(
  tasks: AgentcoreTask,
  taskId: string,
  at: { created: Date; started?: Date | null; finished?: Date | null; updated: Date },
): Promise<void> {
  const d = (date: Date | null | undefined) => (date ? tasks.dialect.toDbDate(date) : null);
  await tasks.db
    .updateTable('agentcore_task_execution')
    .set({
      created_at: tasks.dialect.toDbDate(at.created),
      started_at: d(at.started),
      finished_at: d(at.finished),
      updated_at: tasks.dialect.toDbDate(at.updated),
    })
    .where('task_id', '=', taskId)
    .execute();
}

/**
 * A run whose worker died mid-task: STARTED, last heard of longer ago than the timeout. The demo's timeout job marks
 * it FAILURE ("Task timeout (exceeded 5 minutes, …)") within `markEveryMs`.
 */
async function createDeadRun(tasks: AgentcoreTask, users: readonly UsersFileEntry[], queueName: string | null) {
  const taskId = randomUUID();
  const bob = users.find((u) => u.username === 'bob') ?? users[0];
  await tasks.tracker.registerTaskExecution({
    taskId,
    taskName: 'reports.export_archive',
    module: 'reports',
    taskKwargs: { year: new Date().getUTCFullYear() - 1 },
    createdBy: { id: bob.id, username: bob.username ?? undefined },
    initialStatus: TaskStatus.STARTED,
    queueName,
    metadata: { progress_percent: 35, progress_step: 'compress', progress_message: 'Compressing files' },
  });
  const now = Date.now();
  const silentFor = (DEMO_DEFAULTS.timeoutMinutes + 3) * 60_000;
  await tasks.tracker.flush();
  await backdate(tasks, taskId, {
    created: new Date(now - silentFor - 120_000),
    started: new Date(now - silentFor - 60_000),
    updated: new Date(now - silentFor),
  });
}

/** Two weeks of finished runs, written once (on an empty database) so the stats and charts have a history. */
async function writeHistory(tasks: AgentcoreTask, users: readonly UsersFileEntry[]): Promise<void> {
  const names = Object.entries({
    'reports.generate_monthly_report': 'reports',
    'emails.send_welcome_email': 'emails',
    'emails.send_weekly_digest': 'emails',
    'billing.charge_invoice': 'billing',
    'billing.sync_ledger': 'billing',
  });
  const people = users.filter((u) => !u.is_admin);
  const now = Date.now();
  for (let i = 0; i < DEMO_DEFAULTS.historyRuns; i++) {
    const [name, module] = names[i % names.length];
    const person = i % 5 === 4 ? null : people[i % people.length];
    const taskId = randomUUID();
    const created = new Date(now - Math.random() * 14 * 86_400_000 - 3_600_000);
    const started = new Date(created.getTime() + 200 + Math.random() * 2_000);
    const finished = new Date(started.getTime() + 500 + Math.random() * 9_000);
    const roll = Math.random();
    await tasks.tracker.registerTaskExecution({
      taskId,
      taskName: name,
      module,
      createdBy: person ? { id: person.id, username: person.username ?? undefined } : null,
    });
    const fails = name === 'billing.charge_invoice' ? roll < 0.4 : name.startsWith('reports.') && roll < 0.15;
    if (fails) {
      let error: Error;
      try {
        if (name === 'billing.charge_invoice') chargeCard(`INV-${100 + i}`, 700 + i);
        else uploadToStorage(`reports/archive/${taskId}.pdf`);
        error = new Error('unreachable');
      } catch (thrown) {
        error = coerceError(thrown);
      }
      await tasks.tracker.updateTaskStatus(taskId, TaskStatus.FAILURE, {
        error: error.message,
        traceback: error.stack ?? null,
      });
    } else if (roll > 0.96) {
      await tasks.tracker.updateTaskStatus(taskId, TaskStatus.REVOKED, { error: 'Revoked by an operator' });
    } else {
      await tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, {
        result: { ok: true },
        metadata: { progress_percent: 100, progress_message: 'Done' },
      });
    }
    await tasks.tracker.flush();
    await backdate(tasks, taskId, { created, started, finished, updated: finished });
  }
}

// ── The loop ─────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Starts the demo on `tasks` (whose server the caller runs). Resolves once the first tasks are launched; the loop
 * then goes on until `stop()`. Problems of the demo are reported through `options.warn`, never thrown.
 */
export async function startDemo(tasks: AgentcoreTask, options: DemoOptions): Promise<RunningDemo> {
  const controller = new AbortController();
  const { signal } = controller;
  const bodies = taskBodies(tasks);
  const inFlight = new Set<string>();
  const runner = options.redis
    ? await bullmqRunner(tasks, bodies, signal, inFlight, options.redis)
    : plainRunner(tasks, bodies, signal, inFlight);

  if ((await tasks.tracker.listTaskExecutions({}, { pageSize: 1 })).count === 0)
    await writeHistory(tasks, options.users);
  await createDeadRun(tasks, options.users, runner.queueName);
  await runner.startTimeoutJob();

  let n = 0;
  const launchNext = async () => {
    if (inFlight.size >= DEMO_DEFAULTS.maxInFlight) return;
    for (const job of nextJobs(n++, options.users)) await runner.launch(job);
  };
  const report = (error: unknown) => options.warn(`demo: ${coerceError(error).message}`);
  // A first burst, so every kind of run is on screen within seconds.
  for (let i = 0; i < 5; i++) await launchNext();
  const loop = setInterval(() => launchNext().catch(report), DEMO_DEFAULTS.intervalMs);
  const deadRuns = setInterval(
    () => createDeadRun(tasks, options.users, runner.queueName).catch(report),
    DEMO_DEFAULTS.deadRunEveryMs,
  );

  let stopping: Promise<void> | undefined;
  return {
    mode: runner.mode,
    stop() {
      stopping ??= (async () => {
        clearInterval(loop);
        clearInterval(deadRuns);
        controller.abort();
        await runner.close();
        // Runs that never got to finish: queued ones that will not run now, and (plain mode) interrupted ones.
        for (const taskId of inFlight) {
          const run = await tasks.tracker.getTask(taskId);
          if (run && !run.isCompleted)
            await tasks.tracker.updateTaskStatus(taskId, TaskStatus.REVOKED, {
              error: 'Stopped: the demo was shut down before this run finished',
            });
        }
      })();
      return stopping;
    },
  };
}

/** What `serve --demo` prints once it listens: where to look, the tokens, and a first command to try. */
export function demoBanner(info: {
  url: string;
  users: readonly UsersFileEntry[];
  database: string;
  mode: string;
}): string {
  const admin = info.users.find((u) => u.is_admin) ?? info.users[0];
  const width = Math.max(...info.users.map((u) => (u.username ?? String(u.id)).length));
  const userLines = info.users.map((u) => {
    const who = `${(u.username ?? String(u.id)).padEnd(width)}  ${u.is_admin ? 'admin, sees every run ' : 'sees their own runs   '}`;
    return `    ${who}  ${u.token}`;
  });
  return `
agentcore-task demo is running

  Dashboard   ${info.url}/dashboard/
  API         ${info.url}/
  OpenAPI     ${info.url}/openapi.json

  Sign in to the dashboard with one of these tokens (new ones at every start):
${userLines.join('\n')}

  Try the API:
    curl -H "Authorization: Bearer ${admin.token}" "${info.url}/executions/?my_tasks=false&page_size=5"

  Demo tasks keep running in the background (${info.mode}): reports with progress, emails,
  a failing invoice charge, a duplicate ledger sync skipped by the lock, and a dead run that the
  timeout job marks FAILURE. Runs are stored in ${info.database}.

  Press Ctrl-C to stop.
`;
}
