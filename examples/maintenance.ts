// Maintenance: delete old runs, mark runs with no sign of life as FAILURE, and schedule both in-process.
import { createAgentcoreTask } from 'agentcore-task';

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });

console.log(await tasks.maintenance.cleanupOldExecutions({ retentionDays: 30, onlyCompleted: true, batchSize: 5000 }));
// { deleted_count: 0, cutoff: '…', retention_days: 30, only_completed: true }

console.log(await tasks.maintenance.markTimedOutExecutions({ timeoutMinutes: 10 }));
// { updated_count: 0, timeout_minutes: 10, cutoff: '…', synced_count: 0, synced_updated_count: 0 }

// The schedule entries, to merge into a scheduler of your own:
console.log(await tasks.getCleanupSchedule({ intervalHours: 12 }), await tasks.getMarkTimeoutSchedule());

// Or run both on their crons in this process. Safe in every application instance: each due job runs once.
await tasks.startScheduler();

await tasks.close(); // also stops the scheduler
