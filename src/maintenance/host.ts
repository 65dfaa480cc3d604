import type { TaskLocks } from '../locks/task-locks.js';
import type { Logger } from '../logger.js';
import type { ChangeFeed } from '../realtime/feed.js';
import type { SettingsStore } from '../settings-store.js';
import type { TaskTracker } from '../tracker/tracker.js';

/** What the maintenance jobs need of an `AgentcoreTask` instance. */
export interface MaintenanceHost {
  readonly tracker: TaskTracker;
  /** Where cleanup announces the runs it deletes. */
  readonly feed: ChangeFeed;
  readonly settings: SettingsStore;
  readonly logger: Logger;
  readonly locks: Pick<TaskLocks, 'preventDuplicateTask'>;
}
