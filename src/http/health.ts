/**
 * `GET healthz` (the process answers) and `GET readyz` (its backends answer): for load balancers, orchestrators and
 * `systemd`-style watchdogs. Both are unauthenticated and carry no data beyond which backend is down.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { RegisterRoute } from './app.js';
import type { HttpContext } from './context.js';
import { JSON_HEADERS } from './errors.js';

/** How long a backend may take to answer the readiness probe before it counts as down. */
export const READINESS_TIMEOUT_MS = 2_000;

export const healthSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z
    .record(z.string(), z.enum(['ok', 'down']))
    .meta({ description: '`database`, and `redis` when configured: `ok` or `down`.' }),
});

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Registers both probes (they authenticate nobody: register them before the authentication middleware). */
export function registerHealthRoutes(route: RegisterRoute, ctx: HttpContext): void {
  const answer = (body: unknown, status: number) =>
    new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS } });

  route(
    {
      method: 'get',
      path: '/healthz',
      operationId: 'healthz',
      summary: 'Liveness: the process answers. No backend is asked.',
      tags: ['meta'],
      authenticated: false,
      responses: { 200: { description: '`{"status": "ok"}`', schema: healthSchema } },
    },
    () => answer({ status: 'ok' }, 200),
  );

  route(
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readyz',
      summary: 'Readiness: the database answers, and Redis when configured. 503 names what is down.',
      tags: ['meta'],
      authenticated: false,
      responses: {
        200: { description: 'Every backend answers', schema: readinessSchema },
        503: { description: 'A backend is down (named in `checks`)', schema: readinessSchema },
      },
    },
    async () => {
      const { db, redis, logger } = ctx.tasks;
      const probes: Array<[string, Promise<unknown>]> = [
        ['database', within(sql`select 1`.execute(db), READINESS_TIMEOUT_MS)],
      ];
      // Any cheap command will do; the key need not exist.
      if (redis) probes.push(['redis', within(redis.exists('agentcore_task:readyz'), READINESS_TIMEOUT_MS)]);
      const checks: Record<string, 'ok' | 'down'> = {};
      await Promise.all(
        probes.map(async ([name, probe]) => {
          try {
            await probe;
            checks[name] = 'ok';
          } catch (error) {
            checks[name] = 'down';
            logger.warn({ err: error }, `agentcore-task: readiness probe: ${name} is down`);
          }
        }),
      );
      const down = Object.values(checks).includes('down');
      return answer({ status: down ? 'unavailable' : 'ok', checks }, down ? 503 : 200);
    },
  );
}
