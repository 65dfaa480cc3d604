import type { TaskExecution } from '../types.js';
import type { QueueJobState, QueueSource } from './source.js';

/**
 * One source over several queues, for mixed stacks (BullMQ jobs and Celery tasks in one table): `getState` returns
 * the first answer that is not `null`; `isActive` is `true` when any source that can tell says so. A source that
 * cannot be reached fails the call (the row stays unchanged), as a single source would.
 *
 * @example
 * tasks.tracker.queueSource = combineQueueSources(bullmqSource({ connection }), celerySource({ redis }));
 */
export function combineQueueSources(...sources: QueueSource[]): QueueSource {
  return {
    async getState(execution: TaskExecution): Promise<QueueJobState | null> {
      for (const source of sources) {
        const state = await source.getState(execution);
        if (state) return state;
      }
      return null;
    },
    async isActive(execution: TaskExecution): Promise<boolean> {
      for (const source of sources) if (source.isActive && (await source.isActive(execution))) return true;
      return false;
    },
    async close(): Promise<void> {
      await Promise.allSettled(sources.map((s) => s.close?.()));
    },
  };
}
