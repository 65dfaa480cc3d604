/**
 * `POST executions/{id}/retry/` and `POST executions/{id}/cancel/` (extensions): an admin retries a failed queue job
 * or removes one that has not started, through the instance's queue source (`QueueSource.retry` / `cancel`). Each
 * action is recorded in the run's metadata under `actions` (see `ACTIONS_KEPT`).
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { AgentcoreTask } from '../create.js';
import { ForbiddenError } from '../errors.js';
import type { QueueActionResult, QueueSource } from '../queue/source.js';
import { isCompletedStatus, TaskStatus } from '../status.js';
import type { TaskExecution } from '../types.js';
import { json, type RegisterRoute, viewerOf } from './app.js';
import type { HttpContext, HttpEnv, HttpUser } from './context.js';
import { notFound } from './errors.js';
import type { ResponseDoc } from './openapi.js';
import {
  detailErrorSchema,
  detailQuerySchema,
  executionDetailSchema,
  idParamSchema,
  metadataView,
  parseQuery,
  parseWith,
  validationErrorSchema,
} from './schemas.js';
import { canSeeExecution } from './scope.js';
import { serializeExecutionDetail } from './serialize.js';

/** The admin actions on a run's queue job. */
export type RunAction = 'retry' | 'cancel';

/** How many action entries `metadata.actions` keeps (oldest dropped): metadata merges whole top-level keys. */
export const ACTIONS_KEPT = 20;

/** One entry of `metadata.actions`. */
export interface ActionRecord {
  action: RunAction;
  by: { id: string | number; username: string | null };
  /** ISO 8601, UTC. */
  at: string;
  /** The run's status before the action. */
  from: string;
}

/** `true` when the instance's queue source can do `action` (what `GET dashboard/session` reports as `actions`). */
export function supportsAction(source: QueueSource | undefined, action: RunAction): boolean {
  return typeof source?.[action] === 'function';
}

/** The body of a 409: why the queue refused, and the job's state when it was read (`null`: the queue has no such job). */
export const actionRefusedSchema = z.object({
  detail: z.string(),
  error: z.string(),
  state: z.string().nullable().meta({
    description:
      "The job's state in the queue (BullMQ: `failed`, `waiting`, `active`, …); `null` when the queue does not know the job.",
  }),
});

const WANTED: Record<RunAction, string> = {
  retry: 'Only a failed job can be retried',
  cancel: 'Only a waiting, delayed or prioritized job can be cancelled',
};

const answer = (c: Context<HttpEnv>, body: unknown, status: number): Response => json(c, body, status);

const detail = (message: string) => ({ detail: message, error: message });

/** Registers the two action routes (after `executions/{id}/sync/`). */
export function registerActionRoutes(route: RegisterRoute, ctx: HttpContext): void {
  const { tasks, options } = ctx;
  const responses = (action: RunAction): Record<number, ResponseDoc> => ({
    200: { description: `The run after the ${action}`, schema: executionDetailSchema },
    400: { description: 'Invalid parameter: `{ error, field }`', schema: validationErrorSchema },
    401: { description: 'Not authenticated', schema: detailErrorSchema },
    403: { description: 'Not an admin, or a cross-site request carrying cookies', schema: detailErrorSchema },
    404: { description: 'No such run, or a run the caller may not see', schema: detailErrorSchema },
    409: {
      description: `${WANTED[action]}, or the queue no longer knows the job; nothing was changed`,
      schema: actionRefusedSchema,
    },
    501: { description: `No queue source is configured, or it cannot ${action}`, schema: detailErrorSchema },
    503: {
      description: 'The queue (or the database) cannot be reached; nothing was changed',
      schema: detailErrorSchema,
    },
  });

  for (const action of ['retry', 'cancel'] as const) {
    route(
      {
        method: 'post',
        path: `/executions/{id}/${action}/`,
        operationId: `${action}Execution`,
        summary:
          action === 'retry'
            ? 'Extension (admins only): run the failed queue job again; the run becomes `RETRY`.'
            : 'Extension (admins only): remove the waiting, delayed or prioritized queue job; the run becomes `REVOKED`.',
        description:
          'Needs a queue source that supports it (BullMQ). Recorded in `metadata.actions` (the last 20 entries: `{ action, by: { id, username }, at, from }`). Cookie-carrying requests from another origin are refused as for `sync/`.',
        tags: ['executions'],
        pathParams: idParamSchema,
        query: detailQuerySchema,
        responses: responses(action),
      },
      async (c) => {
        const { id } = parseWith(idParamSchema, { id: c.req.param('id') });
        const view = metadataView(parseQuery(detailQuerySchema, new URL(c.req.url).searchParams));
        const user = c.get('user');
        if (!(await options.isAdmin(user))) throw new ForbiddenError(`Only admins may ${action} runs.`);
        const run = await tasks.tracker.getById(id);
        if (!run || !canSeeExecution(viewerOf(c), run)) throw notFound();
        const source = tasks.tracker.queueSource;
        if (!supportsAction(source, action))
          return answer(
            c,
            detail(
              source
                ? `The configured queue source cannot ${action} jobs.`
                : `No queue source is configured: runs cannot be ${action === 'retry' ? 'retried' : 'cancelled'} from here.`,
            ),
            501,
          );
        // BackendUnavailableError (the queue cannot be reached) becomes 503 in errorToResponse.
        const result: QueueActionResult = await (source as Required<QueueSource>)[action](run);
        if (!result.done) {
          const message =
            result.state === null
              ? 'The queue does not know this job (removed, never added, or the run has no queue).'
              : `${WANTED[action]}; this one is ${result.state}.`;
          return answer(c, { ...detail(message), state: result.state }, 409);
        }
        const after = await record(tasks, run, action, user);
        return answer(c, serializeExecutionDetail(after ?? run, view), 200);
      },
    );
  }
}

/**
 * Writes what the queue now holds, and the action, into the run. A retry sets `RETRY` (what a sync reads from a
 * waiting job with a failed attempt behind it) with `finished_at` cleared, in one statement guarded by the status the
 * action started from: the tracker never moves a completed run back (a late write must not undo an end), so this
 * admin action, which did reopen the job, writes its status directly. If the worker already ended the retried job
 * (the guard then matches nothing), its end stays. A cancel is an ordinary end (`REVOKED`) through the tracker.
 */
async function record(
  tasks: AgentcoreTask,
  run: TaskExecution,
  action: RunAction,
  user: HttpUser,
): Promise<TaskExecution | null> {
  const entry: ActionRecord = {
    action,
    by: { id: user.id, username: user.username ?? null },
    at: new Date().toISOString(),
    from: run.status,
  };
  const earlier = Array.isArray(run.metadata?.actions) ? (run.metadata.actions as unknown[]) : [];
  const actions = [...earlier, entry].slice(-ACTIONS_KEPT);
  if (action === 'retry') {
    if (isCompletedStatus(run.status)) await tasks.tracker.store.reopen(run.id, run.status, TaskStatus.RETRY);
    else await tasks.tracker.updateTaskStatus(run.taskId, TaskStatus.RETRY);
    await tasks.tracker.recordStatus(run.taskId, undefined, { metadata: { actions } });
  } else {
    const by = user.username ?? String(user.id);
    await tasks.tracker.updateTaskStatus(run.taskId, TaskStatus.REVOKED, {
      error: `cancelled by ${by}`,
      metadata: { actions },
    });
  }
  const after = await tasks.tracker.getById(run.id);
  if (after) tasks.tracker.emit(after, 'updated');
  return after;
}
