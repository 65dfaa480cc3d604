import { Cron } from 'croner';
import type { MaintenanceHost } from './host.js';
import type { MaintenanceTaskName } from './names.js';
import type { MaintenanceSchedule } from './schedule.js';

/** Options of `startScheduler`. */
export interface SchedulerOptions {
  /** Time zone of the crontabs. @defaultValue `'UTC'` */
  timezone?: string;
  /** How often the settings are read again, so a crontab or an on/off switch changed at run time takes effect. @defaultValue `60000` */
  refreshIntervalMs?: number;
  /**
   * Cron patterns used instead of the settings' crontabs, in croner syntax (6 fields allowed, i.e. seconds). Meant
   * for tests and demos that cannot wait minutes; the enable switches still apply.
   */
  overridePatterns?: Partial<Record<MaintenanceTaskName, string>>;
}

/** Stops a scheduler and waits for the job it may be running. */
export type StopScheduler = () => Promise<void>;

/** What the scheduler needs besides the host: the schedules and a way to run one tick. */
export interface SchedulerDeps {
  host: MaintenanceHost;
  /** The current schedule entries (read from the settings each time); `quiet` suppresses repeated warnings. */
  schedules(quiet: boolean): Promise<MaintenanceSchedule[]>;
  /** Runs one tick of a job; the scheduled time makes the run's `task_id` a claim shared by every instance. */
  runTick(taskName: MaintenanceTaskName, scheduledAt: Date): Promise<unknown>;
}

/** Longest single `setTimeout` (Node caps delays at 2^31-1 ms). */
const MAX_TIMEOUT_MS = 2 ** 30;

/**
 * Runs the maintenance jobs in this process on their crons. Every instance computes the same scheduled times, the
 * lock keeps runs from overlapping, and the per-tick claim (the run's `task_id`) makes N instances run each tick once.
 */
export async function startScheduler(deps: SchedulerDeps, options: SchedulerOptions = {}): Promise<StopScheduler> {
  const { host } = deps;
  const timezone = options.timezone ?? 'UTC';
  const inflight = new Set<Promise<unknown>>();
  let stops: Array<() => void> = [];
  let current = '';
  let stopped = false;

  const tick = async (taskName: MaintenanceTaskName, scheduledAt: Date): Promise<void> => {
    if (stopped) return;
    const run: Promise<unknown> = deps
      .runTick(taskName, scheduledAt)
      .catch((error) => host.logger.error({ err: error, taskName }, 'agentcore-task: scheduled maintenance job failed'))
      .finally(() => inflight.delete(run));
    inflight.add(run);
    await run;
  };

  const schedule = (entries: MaintenanceSchedule[]) => {
    for (const stop of stops) stop();
    stops = [];
    for (const entry of entries) {
      const pattern = options.overridePatterns?.[entry.taskName] ?? entry.pattern;
      if (pattern) {
        // Returning the run lets croner's `protect` skip a tick while the previous one still runs here.
        const job: Cron = new Cron(pattern, { timezone, protect: true, unref: true }, () =>
          tick(entry.taskName, scheduledTime(job, new Date())),
        );
        stops.push(() => job.stop());
      } else if (entry.every) {
        stops.push(every(entry.every, (at) => void tick(entry.taskName, at)));
      }
    }
  };

  const refresh = async (quiet: boolean) => {
    const entries = await deps.schedules(quiet);
    const key = JSON.stringify([entries, options.overridePatterns ?? null]);
    if (key === current || stopped) return;
    if (quiet) await deps.schedules(false); // the schedule changed: say once why (e.g. invalid crontab)
    current = key;
    schedule(entries);
  };

  await refresh(false);
  const refresher = setInterval(() => {
    refresh(true).catch((error) =>
      host.logger.warn({ err: error }, 'agentcore-task: could not refresh the maintenance schedule'),
    );
  }, options.refreshIntervalMs ?? 60_000);
  refresher.unref();

  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      stopped = true;
      clearInterval(refresher);
      for (const stop of stops) stop();
      stops = [];
      await Promise.allSettled([...inflight]);
    })();
    return stopping;
  };
}

/**
 * The scheduled time a cron callback fires for: the pattern time nearest to now (timers fire a little late, or in
 * rare cases early), so every instance names the tick the same.
 */
function scheduledTime(job: Cron, now: Date): Date {
  const previous = job.previousRuns(1, new Date(now.getTime() + 1))[0];
  const next = job.nextRun(now);
  if (!previous) return next ?? now;
  if (!next) return previous;
  return next.getTime() - now.getTime() < now.getTime() - previous.getTime() ? next : previous;
}

/** Calls `fn` at every multiple of `ms` since the epoch (aligned, so all instances agree on the ticks). */
function every(ms: number, fn: (at: Date) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (target: number) => {
    const wait = Math.min(Math.max(0, target - Date.now()), MAX_TIMEOUT_MS);
    timer = setTimeout(() => {
      if (cancelled) return;
      if (Date.now() < target) return arm(target);
      fn(new Date(target));
      arm(target + ms);
    }, wait);
    timer.unref();
  };
  arm(Math.ceil((Date.now() + 1) / ms) * ms);
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
