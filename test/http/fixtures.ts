/**
 * Generated runs for the HTTP tests, and the brute-force answers the API must equal: the expected list and stats
 * are computed here in plain JS over the same rows, independently of the SQL under test.
 */
import type { AgentcoreTask } from '../../src/index.js';
import type { TaskStatusValue } from '../../src/status.js';
import { prng } from '../helpers/prng.js';

export const USERS = {
  a: { id: 1, username: 'alice' },
  b: { id: 2, username: 'bob' },
  admin: { id: 99, username: 'root', isAdmin: true },
} as const;
export type UserKey = keyof typeof USERS;
export const TOKENS: Record<UserKey, string> = { a: 'token-alice', b: 'token-bob', admin: 'token-admin' };

/** One generated run, as the test knows it. */
export interface ModelRow {
  id: number;
  taskId: string;
  taskName: string;
  module: string;
  status: TaskStatusValue;
  createdById: number | null;
  createdAt: Date;
  metadata: Record<string, unknown>;
}

const STATUSES: TaskStatusValue[] = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];
const MODULES = ['billing', 'reports', 'mail'];
const VERBS = ['send', 'build', 'sync'];
const TENANTS = ['acme', 'globex', 'initech'];
const CREATORS = [USERS.a.id, USERS.b.id, USERS.a.id, USERS.admin.id, null, USERS.b.id, USERS.a.id];

const HOUR = 3_600_000;
export const SPREAD_START = Date.UTC(2024, 2, 1); // 2024-03-01
export const BUSY_DAY = '2024-04-15';

/** The creation times: 120 runs spread over March–May 2024, plus 14 on BUSY_DAY at varied hours. All distinct. */
function creationTimes(random: () => number): Date[] {
  const times: Date[] = [];
  for (let i = 0; i < 120; i++)
    times.push(new Date(SPREAD_START + i * 17 * HOUR + i * 1000 + Math.floor(random() * 50) * 60_000));
  const busy = Date.parse(`${BUSY_DAY}T00:00:00Z`);
  for (let i = 0; i < 14; i++) times.push(new Date(busy + ((i * 5) % 24) * HOUR + (i + 1) * 61_000));
  return times;
}

/** Registers the runs (through the tracker), sets their statuses and creation times. Returns the model. */
export async function seedRuns(tasks: AgentcoreTask): Promise<ModelRow[]> {
  const random = prng(20240415);
  const rows: ModelRow[] = [];
  const times = creationTimes(random);
  for (let i = 0; i < times.length; i++) {
    const module = MODULES[Math.floor(random() * MODULES.length)];
    const taskName = `${module}.${VERBS[Math.floor(random() * VERBS.length)]}_report`;
    const status = STATUSES[Math.floor(random() * STATUSES.length)];
    const createdById = CREATORS[i % CREATORS.length];
    const creator = Object.values(USERS).find((u) => u.id === createdById);
    const metadata = {
      tenant: TENANTS[Math.floor(random() * TENANTS.length)],
      n: i,
      ...(i % 4 === 0 ? { batch: `b${i % 3}` } : {}),
    };
    const taskId = `Run-${String(i).padStart(3, '0')}-${Math.floor(random() * 1e6).toString(36)}`;
    const registered = await tasks.tracker.registerTaskExecution({
      taskId,
      taskName,
      module,
      createdBy: creator ? { id: creator.id, username: creator.username } : null,
      metadata,
    });
    if (status !== 'PENDING')
      await tasks.tracker.updateTaskStatus(
        taskId,
        status,
        status === 'FAILURE' ? { error: 'boom', traceback: 'at x' } : {},
      );
    rows.push({ id: registered!.id, taskId, taskName, module, status, createdById, createdAt: times[i], metadata });
  }
  await setCreatedAt(tasks, rows);
  return rows;
}

/** Moves runs to the model's creation times (the tracker stamps "now"). */
export async function setCreatedAt(tasks: AgentcoreTask, rows: readonly ModelRow[]): Promise<void> {
  for (const row of rows) {
    await tasks.db
      .updateTable('agentcore_task_execution')
      .set({ created_at: tasks.dialect.toDbDate(row.createdAt) })
      .where('id', '=', row.id)
      .execute();
  }
}

/** The filters of the brute force, in wire terms. */
export interface BruteFilters {
  creator?: number | 'all';
  module?: string;
  task_name?: string;
  status?: string;
  start?: Date;
  /** Inclusive upper bound. */
  end?: Date;
  search?: string;
  metadata?: Record<string, string>;
}

/** The rows matching `filters`, in the API's default order (`-created_at`). */
export function bruteList(rows: readonly ModelRow[], filters: BruteFilters): ModelRow[] {
  return rows
    .filter((r) => filters.creator === 'all' || filters.creator === undefined || r.createdById === filters.creator)
    .filter((r) => filters.module === undefined || r.module === filters.module)
    .filter((r) => filters.task_name === undefined || r.taskName === filters.task_name)
    .filter((r) => filters.status === undefined || r.status === filters.status)
    .filter((r) => filters.start === undefined || r.createdAt >= filters.start)
    .filter((r) => filters.end === undefined || r.createdAt <= filters.end)
    .filter(
      (r) =>
        filters.search === undefined ||
        r.taskName.toLowerCase().includes(filters.search.toLowerCase()) ||
        r.taskId.toLowerCase().includes(filters.search.toLowerCase()),
    )
    .filter((r) =>
      Object.entries(filters.metadata ?? {}).every(([k, v]) => k in r.metadata && String(r.metadata[k]) === v),
    )
    .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || y.id - x.id);
}

type Counts = Record<'total' | 'pending' | 'started' | 'success' | 'failure' | 'retry' | 'revoked', number>;
const emptyCounts = (): Counts => ({ total: 0, pending: 0, started: 0, success: 0, failure: 0, retry: 0, revoked: 0 });
const add = (c: Counts, status: string) => {
  c.total++;
  c[status.toLowerCase() as keyof Counts]++;
};

/** Stats (without series) of the matching rows. */
export function bruteStats(rows: readonly ModelRow[]) {
  const stats: Counts & { by_module: Record<string, Counts>; by_task_name: Record<string, Counts> } = {
    ...emptyCounts(),
    by_module: {},
    by_task_name: {},
  };
  for (const r of rows) {
    stats.by_module[r.module] ??= emptyCounts();
    stats.by_task_name[r.taskName] ??= emptyCounts();
    add(stats, r.status);
    add(stats.by_module[r.module], r.status);
    add(stats.by_task_name[r.taskName], r.status);
  }
  return stats;
}

/** A series of `buckets` labels: counts of rows whose `label(createdAt)` equals each bucket (0 when none). */
export function bruteSeries(rows: readonly ModelRow[], buckets: string[], label: (d: Date) => string) {
  return buckets.map((bucket) => ({ bucket, count: rows.filter((r) => label(r.createdAt) === bucket).length }));
}
