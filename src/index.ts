/**
 * agentcore-task: record every background task run, stop duplicate runs, clean up and time out old runs.
 * @packageDocumentation
 */
export { AgentcoreTask, type AgentcoreTaskOptions, createAgentcoreTask, DEFAULT_DATABASE_URL } from './create.js';
export {
  BackendUnavailableError,
  coerceError,
  ForbiddenError,
  MissingDependencyError,
  NotFoundError,
  ValidationError,
} from './errors.js';
export type { GetUser, HandlerOptions, HttpUser } from './http/context.js';
export { createHandler, type WebHandler } from './http/handler.js';
export {
  type ExecutionDetailJson,
  type ExecutionJson,
  type SerializeOptions,
  serializeExecution,
  serializeExecutionDetail,
} from './http/serialize.js';
export {
  cleanText,
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_JSON_DEPTH,
  serializePayload,
  type TruncatedPayload,
  toJsonSafe,
  type ValueMarker,
} from './json-safe.js';
export type { LockBackend } from './locks/backends.js';
export { DatabaseLockProvider } from './locks/database/database-lock-provider.js';
export { MemoryLockProvider } from './locks/memory/memory-lock-provider.js';
export type { PreventDuplicateOptions, SkippedTaskResult, SkipReason } from './locks/prevent-duplicate.js';
export type { LockEntry, LockProvider } from './locks/provider.js';
export { RedisLockProvider } from './locks/redis/redis-lock-provider.js';
export {
  DEFAULT_LOCK_OPERATION_TIMEOUT_MS,
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  LOCK_KEY_PREFIX,
  type TaskLockInfo,
  TaskLocks,
  type TaskLocksOptions,
} from './locks/task-locks.js';
export { consoleLogger, type Logger, silentLogger } from './logger.js';
export {
  type AlreadyRunResult,
  CLEANUP_SCHEDULE_ID,
  CLEANUP_TASK_NAME,
  type CleanupOptions,
  type CleanupResult,
  type CleanupScheduleOptions,
  type DisabledJobResult,
  MAINTENANCE_MODULE,
  MARK_TIMEOUT_SCHEDULE_ID,
  MARK_TIMEOUT_TASK_NAME,
  Maintenance,
  type MaintenanceJobResult,
  type MaintenanceRunOptions,
  type MaintenanceSchedule,
  type MarkTimeoutOptions,
  type MarkTimeoutResult,
  type SchedulerOptions,
  type StopScheduler,
} from './maintenance/index.js';
export {
  CELERY_KEY_PREFIX,
  CelerySource,
  type CelerySourceOptions,
  celerySource,
  useCelerySync,
} from './queue/celery/source.js';
export { combineQueueSources } from './queue/combine.js';
export type { QueueJobState, QueueSource } from './queue/source.js';
export { type ChangeFeed, type DeletedExecution, type ExecutionChange, MemoryChangeFeed } from './realtime/feed.js';
export type { RealtimeOption } from './realtime/select.js';
export type { RedisLike, RedisOption } from './redis.js';
export { DEFAULT_SETTINGS, isValidCrontab, type Settings } from './settings.js';
export { SettingsStore } from './settings-store.js';
export { isCompletedStatus, isRunningStatus, isTaskStatus, TaskStatus, type TaskStatusValue } from './status.js';
export type { DatabaseOption } from './store/connect.js';
export type { DialectName } from './store/dialect.js';
export { TaskLogCollector, type TaskLogEntry, type TaskLogSummary } from './tracker/log-collector.js';
export { type OnRecordError, type SyncSummary, TaskTracker } from './tracker/tracker.js';
export type {
  CreatedBy,
  DurationFigures,
  ExecutionFilters,
  ExecutionPage,
  PageOptions,
  ProgressInput,
  RegisterTaskInput,
  StatsOptions,
  StatusCounts,
  TaskExecution,
  TaskStats,
  UpdateTaskInput,
} from './types.js';
