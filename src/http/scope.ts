import { ForbiddenError } from '../errors.js';
import type { TaskExecution } from '../types.js';
import type { HttpUser } from './context.js';

/** The caller and whether it may see every run. */
export interface Viewer {
  user: HttpUser;
  canViewAll: boolean;
}

/** The scoping parameters of the list, stats and stream endpoints. */
export interface ScopeQuery {
  created_by?: number;
  my_tasks?: boolean;
}

const sameId = (a: string | number, b: string | number) => String(a) === String(b);

/**
 * The `createdById` filter of a list/stats/stream request: `created_by` wins; without it,
 * `my_tasks=false` means every run and `my_tasks=true` or nothing means the caller's own runs.
 * Returns `undefined` for "no creator filter". Throws `ForbiddenError` when the caller may not widen the scope.
 */
export function resolveCreatorScope(viewer: Viewer, query: ScopeQuery): string | number | undefined {
  if (query.created_by !== undefined) {
    if (!sameId(query.created_by, viewer.user.id) && !viewer.canViewAll)
      throw new ForbiddenError("You do not have permission to view other users' tasks.");
    return query.created_by;
  }
  if (query.my_tasks === false) {
    if (!viewer.canViewAll) throw new ForbiddenError('You do not have permission to view all tasks (my_tasks=false).');
    return undefined;
  }
  return viewer.user.id;
}

/**
 * Whether the viewer may see this run: its creator, or a user who `canViewAll`. Runs with no creator are visible
 * only to `canViewAll` users. Everyone else gets 404, exactly as for a missing run.
 */
export function canSeeExecution(viewer: Viewer, execution: Pick<TaskExecution, 'createdById'>): boolean {
  if (viewer.canViewAll) return true;
  return execution.createdById !== null && sameId(execution.createdById, viewer.user.id);
}
