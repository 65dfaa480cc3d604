/** Wire shapes of the REST API (snake_case, as the seed's Django API). */
import type { StatusCounts, TaskStats } from '../../types.js';

export type Status = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'REVOKED';
export const STATUSES: Status[] = ['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];

export interface ListItem {
  id: number;
  task_id: string;
  task_name: string;
  module: string;
  status: Status;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  metadata: Record<string, unknown> | null;
  created_by_id: string | number | null;
  created_by_username: string | null;
  duration: number | null;
  is_completed: boolean;
  is_running: boolean;
}

export interface Detail extends ListItem {
  task_args: unknown[];
  task_kwargs: Record<string, unknown>;
  result: unknown;
  error: string | null;
  traceback: string | null;
  created_by: string | number | null;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

// The stats shapes are the library's own wire types (type-only: nothing of the server ends up in the bundle).
export type Counts = StatusCounts;
export type Stats = TaskStats;

export interface LockRow {
  name: string;
  owner: string;
  expires_at: string | null;
}

export interface LogEntry {
  level: string;
  message: string;
  timestamp: string;
  exception?: string | null;
}
