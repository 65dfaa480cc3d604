// Task lock: one run at a time per lock name (here: per user), across every process sharing the lock backend.
import { createAgentcoreTask } from 'agentcore-task';

const tasks = await createAgentcoreTask({ database: process.env.DATABASE_URL ?? 'sqlite:./agentcore-task.db' });

const sendDigest = tasks.preventDuplicateTask(
  { lockName: 'send_digest', lockParam: 'userId', timeout: 600 },
  async (input: { userId: number }) => {
    await new Promise((resolve) => setTimeout(resolve, 200)); // the work
    return { success: true, userId: input.userId };
  },
);

// Two runs for user 42 at once: one runs, the other is skipped. User 7 is not blocked by user 42.
const results = await Promise.all([sendDigest({ userId: 42 }), sendDigest({ userId: 42 }), sendDigest({ userId: 7 })]);
console.log(results);
// [ { success: true, userId: 42 },
//   { success: false, status: 'skipped', reason: 'task_already_running', error: 'Task send_digest_42 is already running' },
//   { success: true, userId: 7 } ]

// The lower-level calls, for code that cannot be wrapped:
if (await tasks.acquireTaskLock('rebuild_index', 3600)) {
  try {
    console.log('locked:', await tasks.isTaskLocked('rebuild_index')); // locked: true
  } finally {
    await tasks.releaseTaskLock('rebuild_index'); // only the owner releases ({ force: true } for operators)
  }
}

await tasks.close();
