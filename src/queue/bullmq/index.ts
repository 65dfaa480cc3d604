/**
 * `agentcore-task/bullmq`: record BullMQ jobs (`dispatch`, `tracked`, `instrumentWorker`), sync runs from BullMQ
 * (`bullmqSource`, `useBullmqSync`), and schedule the maintenance jobs on BullMQ (`scheduleMaintenance`,
 * `createMaintenanceWorker`), and store runs of finished jobs whose writes were lost (`recoverUnrecorded`). Needs the
 * `bullmq` package.
 * @packageDocumentation
 */
export { type BullmqConnection, type BullmqPostgresConnection, isPostgresConnection } from './backend.js';
export { redisOptionsFromUrl } from './connection.js';
export { type DispatchOptions, type DispatchQueue, type DispatchResult, dispatch } from './dispatch.js';
export { jobIdOf, taskIdOf } from './lifecycle.js';
export {
  type CreateMaintenanceWorkerOptions,
  createMaintenanceWorker,
  DEFAULT_MAINTENANCE_QUEUE,
  type ScheduledMaintenance,
  type ScheduleMaintenanceOptions,
  scheduleMaintenance,
} from './maintenance.js';
export {
  DEFAULT_RECORDER_MODULE,
  type QueueRecorder,
  type QueueRecordingStats,
  type ReconcileSummary,
  type RecordQueuesOptions,
  recordQueues,
} from './recorder.js';
export {
  DEFAULT_RECOVER_LIMIT,
  type RecoverOptions,
  type RecoverSummary,
  recoverUnrecorded,
} from './recover.js';
export {
  BullmqSource,
  type BullmqSourceOptions,
  bullmqSource,
  DEFAULT_SYNC_TIMEOUT_MS,
  jobStateToStatus,
  type SourceJob,
  type SourceQueue,
  useBullmqSync,
} from './source.js';
export {
  type BullmqProcessor,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  type InstrumentableWorker,
  type InstrumentOptions,
  instrumentWorker,
  type TrackedContext,
  type TrackedOptions,
  tracked,
} from './tracked.js';
