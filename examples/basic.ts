/**
 * Quick start: record a few task runs into an embedded SQLite file and print them as a table.
 * Run: npx tsx examples/basic.ts (DATABASE_URL picks another database)
 */
import { createAgentcoreTask, TaskLogCollector, TaskStatus } from 'agentcore-task';

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });

// 1. Register a run right after dispatching it (here we just make up an id).
const taskId = `report-${Date.now()}`;
await tasks.registerTaskExecution({
  taskId,
  taskName: 'reports.build_monthly',
  module: 'reports',
  taskKwargs: { month: '2026-11' },
  createdBy: { id: 1, username: 'alice' },
  metadata: { source: 'quick_start' },
});

// 2. Inside the task: mark it started, report progress, collect logs, record the result.
await tasks.tracker.updateTaskStatus(taskId, TaskStatus.STARTED);
const logs = new TaskLogCollector();
for (const [percent, step] of [
  [30, 'fetch'],
  [70, 'render'],
  [100, 'upload'],
] as const) {
  logs.info(`step ${step}`);
  await tasks.tracker.reportProgress(taskId, { percent, step, message: `Running ${step}…` });
}
await logs.flushTo(tasks.tracker, taskId);
await tasks.tracker.updateTaskStatus(taskId, TaskStatus.SUCCESS, { result: { pages: 12 } });

// 3. A failing run keeps its error and stack trace.
const failingId = `import-${Date.now()}`;
await tasks.registerTaskExecution({ taskId: failingId, taskName: 'billing.import_invoices', module: 'billing' });
try {
  throw new Error('supplier API returned 502');
} catch (error) {
  const e = error as Error;
  await tasks.tracker.updateTaskStatus(failingId, TaskStatus.FAILURE, { error: e.message, traceback: e.stack });
}

// 4. Read them back.
const page = await tasks.tracker.listTaskExecutions({}, { pageSize: 10 });
console.table(
  page.results.map((r) => ({
    task_id: r.taskId,
    task_name: r.taskName,
    status: r.status,
    progress: r.metadata.progress_percent ?? '',
    duration_s: r.duration?.toFixed(3) ?? '',
    error: r.error ?? '',
  })),
);
const stats = await tasks.tracker.getTaskStats();
console.log(`total ${stats.total}: ${stats.success} succeeded, ${stats.failure} failed`);

await tasks.close();
