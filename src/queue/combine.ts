import type { TaskExecution } from '../types.js';
import type { QueueActionResult, QueueJobState, QueueSource } from './source.js';

/**
 * One source over several queues, for mixed stacks (BullMQ jobs and Celery tasks in one table): `getState` returns
 * the first answer that is not `null`; `isActive` is `true` when any source that can tell says so; `retry` and
 * `cancel` (present when any source has them) act through the first source that knows the job. A source that
 * cannot be reached fails the call (the row stays unchanged), as a single source would.
 *
 * @example
 * tasks.tracker.queueSource = combineQueueSources(bullmqSource({ connection }), celerySource({ redis }));
 */
export function combineQueueSources(...sources: QueueSource[]): QueueSource {
  /** The first source that knows the job answers an action; none that can act: the method is absent. */
  const action = (name: 'retry' | 'cancel') => {
    const able = sources.filter((s) => typeof s[name] === 'function');
    if (able.length === 0) return undefined;
    return async (execution: TaskExecution): Promise<QueueActionResult> => {
      for (const source of able) {
        const result = await source[name]!(execution);
        if (result.done || result.state !== null) return result;
      }
      return { done: false, state: null };
    };
  };
  const retry = action('retry');
  const cancel = action('cancel');
  return {
    ...(retry ? { retry } : {}),
    ...(cancel ? { cancel } : {}),
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
