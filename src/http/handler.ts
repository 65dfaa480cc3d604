import type { AgentcoreTask } from '../create.js';
import { createApp, type TasksApp } from './app.js';
import { type HandlerOptions, type ResolvedHandlerOptions, resolveHandlerOptions } from './context.js';
import type { BufferedResponse } from './node.js';

/** A Web-standard request handler: `Request` in, `Response` out (Hono, Next.js, Bun, Deno, Node http). */
export type WebHandler = (request: Request) => Promise<Response>;

/**
 * @internal The handler with the framework's native request passed through to `getUser`, and the mount path to strip
 * before routing when it varies per request (Express mounts).
 */
export type NativeHandler<Native, R = Response> = (
  request: Request,
  native: Native,
  mount?: { mountPath?: string; localOrigin?: string },
) => Promise<R>;

/** @internal Builds the app once and returns its dispatcher. */
export function createNativeHandler<Native>(
  tasks: AgentcoreTask,
  options: HandlerOptions<Native>,
): NativeHandler<Native> & { readonly app: TasksApp } {
  return build(tasks, options, false) as NativeHandler<Native> & { readonly app: TasksApp };
}

/**
 * @internal The dispatcher of the Node mounts (Express, Fastify), which write responses themselves: JSON comes back
 * as a `BufferedResponse` they send in one call, other answers (streams, errors, assets) as a Web `Response`.
 */
export function createNodeHandler<Native>(
  tasks: AgentcoreTask,
  options: HandlerOptions<Native>,
): NativeHandler<Native, Response | BufferedResponse> {
  return build(tasks, options, true);
}

function build<Native>(
  tasks: AgentcoreTask,
  options: HandlerOptions<Native>,
  buffered: boolean,
): NativeHandler<Native, Response | BufferedResponse> & { readonly app: TasksApp } {
  const resolved = resolveHandlerOptions(options);
  // The native request only flows from the mount to getUser, so the app can treat its type as unknown.
  const built = createApp(tasks, resolved as ResolvedHandlerOptions<unknown>);
  const handler = async (request: Request, native: Native, mount?: { mountPath?: string; localOrigin?: string }) =>
    built.app.fetch(request, { native, mountPath: mount?.mountPath, localOrigin: mount?.localOrigin, buffered });
  return Object.assign(handler, { app: built });
}

/**
 * The REST API as one Web-standard handler. Routes live under `options.prefix`; every path also
 * answers without its trailing slash. Same as `tasks.handler(options)`.
 *
 * @example
 * // Bun / Deno / any fetch-style server
 * const handle = createHandler(tasks, { prefix: '/api/v1/tasks', getUser: (req) => userFromSession(req) });
 * Bun.serve({ fetch: handle });
 *
 * @example
 * // Next.js route handler: app/api/v1/tasks/[...path]/route.ts
 * const handle = createHandler(tasks, { prefix: '/api/v1/tasks', getUser });
 * export { handle as GET, handle as POST, handle as PATCH };
 */
export function createHandler(tasks: AgentcoreTask, options: HandlerOptions): WebHandler {
  const handler = createNativeHandler(tasks, options);
  return function agentcoreTaskHandler(request: Request) {
    return handler(request, undefined);
  };
}
