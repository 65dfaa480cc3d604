import { isCompletedStatus, TaskStatus, type TaskStatusValue } from '../status.js';
import type { StatusPatch } from './execution-store.js';

/** A column value an effect sets, and whether it applies only while the stored run is not completed. */
export interface GuardedValue<T> {
  value: T;
  /** `true` when the write that set it had no completed status: ignored once the stored run is completed. */
  guarded: boolean;
}

/**
 * Several status patches of one run folded into the single row change they amount to when applied in order (the
 * rules of `ExecutionStore.update`): the last status wins unless it would move a completed run back, `STARTED` sets
 * `started_at` once, a completed status sets `finished_at` once, metadata keys merge in order. Lets the write batcher
 * send a run's waiting writes as one row of one statement without changing the final state.
 */
export interface Effect {
  /** The status to set, or `undefined` to leave it. */
  status?: GuardedValue<TaskStatusValue>;
  /** A `STARTED` that counts: sets `started_at` when still empty and the stored run is not completed. */
  started: boolean;
  /** A completed status is among the writes: `finished_at` is set when still empty. */
  completed: boolean;
  result?: GuardedValue<string>;
  error?: GuardedValue<string | null>;
  traceback?: GuardedValue<string | null>;
  /** Metadata keys with their JSON text, later writes winning. */
  metadata: Map<string, string>;
}

export function emptyEffect(): Effect {
  return { started: false, completed: false, metadata: new Map() };
}

/** Folds `patch` (applied after the writes already in `effect`) into `effect`, in place. */
export function foldPatch(effect: Effect, patch: StatusPatch): Effect {
  for (const [key, json] of patch.metadata ?? []) {
    effect.metadata.delete(key); // keep insertion order = write order
    effect.metadata.set(key, json);
  }
  const next = patch.status;
  const nextCompleted = next !== undefined && isCompletedStatus(next);
  // After a completed status in this fold the run is completed: a later non-completed write changes only metadata.
  if (!nextCompleted && effect.completed) return effect;
  const guarded = !nextCompleted;
  if (next !== undefined) effect.status = { value: next, guarded };
  if (next === TaskStatus.STARTED) effect.started = true;
  if (nextCompleted) effect.completed = true;
  if (patch.resultJson !== undefined) effect.result = { value: patch.resultJson, guarded };
  if (patch.error !== undefined) effect.error = { value: patch.error, guarded };
  else if (next === TaskStatus.SUCCESS) effect.error = { value: null, guarded: false };
  if (patch.traceback !== undefined) effect.traceback = { value: patch.traceback, guarded };
  else if (next === TaskStatus.SUCCESS) effect.traceback = { value: null, guarded: false };
  return effect;
}
