/**
 * The REST API as a Hono sub-app. `createHandler` (Web standard), `tasksExpress` and `tasksFastify`
 * all serve this one app, so the three behave the same.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { getPathNoStrict } from 'hono/utils/url';
import type { AgentcoreTask } from '../create.js';
import { registerDashboardRoutes } from '../dashboard/serve.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { settingsToWire } from '../settings.js';
import type { ExecutionFilters, TaskExecution } from '../types.js';
import { registerActionRoutes, supportsAction } from './actions.js';
import { BODY_DEFAULTS, readJsonBody } from './body.js';
import type { HttpContext, HttpEnv, ResolvedHandlerOptions } from './context.js';
import { AuthenticationRequiredError, errorToResponse, HttpRequestError, JSON_HEADERS, notFound } from './errors.js';
import { registerExportRoute } from './export.js';
import { registerHealthRoutes } from './health.js';
import { registerMetricsRoute } from './metrics.js';
import { BufferedResponse } from './node.js';
import { buildOpenApiDocument, type ResponseDoc, type RouteDoc } from './openapi.js';
import { originPolicy, publicRequestUrl, rejectCrossSiteRequest } from './origin.js';
import {
  byTaskIdQuerySchema,
  configPatchBodySchema,
  configSchema,
  detailErrorSchema,
  detailQuerySchema,
  executionDetailSchema,
  executionPageSchema,
  idParamSchema,
  type ListQuery,
  listFilters,
  listQuerySchema,
  locksSchema,
  metadataView,
  myTasksQuerySchema,
  parseQuery,
  parseWith,
  rejectNulCharacters,
  statsQuerySchema,
  statsSchema,
  statusQuerySchema,
  taskIdParamSchema,
  validationErrorSchema,
} from './schemas.js';
import { canSeeExecution, resolveCreatorScope, type Viewer } from './scope.js';
import { serializeExecution, serializeExecutionDetail } from './serialize.js';
import { registerStreamRoutes, StreamHub } from './stream.js';

/** A route handler of the sub-app. */
export type RouteHandler = (c: Context<HttpEnv>) => Response | Promise<Response>;
/** Registers a route together with its OpenAPI description (so `openapi.json` describes every route). */
export type RegisterRoute = (doc: RouteDoc, handler: RouteHandler) => void;

/** The sub-app, the descriptions of its routes, and the context its routes share. */
export interface TasksApp {
  app: Hono<HttpEnv>;
  routes: readonly RouteDoc[];
  context: HttpContext;
}

// Responses that mean "no route here" (not "no such run"): the Express mount hands those to the next middleware.
const unmatched = new WeakSet<object>();

/** `true` for the 404 of a path no route matches. */
export function isUnmatchedResponse(response: Response | BufferedResponse): boolean {
  return unmatched.has(response);
}

/**
 * A JSON answer (with `JSON_HEADERS`: `nosniff`, `no-store`): a Web `Response`, or for the Node mounts (`buffered`) a
 * `BufferedResponse` they write in one call. Hono passes what a handler returns through untouched, so the cast stays
 * between the app and its mounts.
 */
export function json(c: Context<HttpEnv>, value: unknown, status = 200, headers?: Record<string, string>): Response {
  const text = JSON.stringify(value);
  if (c.env?.buffered)
    return new BufferedResponse(
      text,
      status,
      headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
    ) as unknown as Response;
  // A fresh object: @hono/node-server's Response keeps the one it is given and adds content-length to it.
  return new Response(text, { status, headers: { ...JSON_HEADERS, ...headers } });
}

/**
 * The path Hono routes on: without a trailing slash (every route answers with and without it), and without the
 * per-request mount path of the Express mount (so one app serves any `req.baseUrl`).
 */
function routingPath(request: Request, options?: { env?: unknown }): string {
  const path = getPathNoStrict(request);
  const mount = (options?.env as Partial<HttpEnv['Bindings']> | undefined)?.mountPath;
  if (!mount) return path;
  if (path === mount) return '/';
  return path.startsWith(`${mount}/`) ? path.slice(mount.length) : path;
}

/** The caller of the current request (set by the authentication middleware). */
export function viewerOf(c: Context<HttpEnv>): Viewer {
  return { user: c.get('user'), canViewAll: c.get('canViewAll') };
}

/** The URL of the same request with `page` replaced (DRF style: page 1 has no `page` parameter). */
export function pageUrl(requestUrl: string | URL, page: number): string {
  const url = new URL(requestUrl);
  if (page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return url.toString();
}

/** The URL of the same request with `cursor` set and `page` dropped (keyset paging). */
export function cursorUrl(requestUrl: string | URL, cursor: string): string {
  const url = new URL(requestUrl);
  url.searchParams.delete('page');
  url.searchParams.set('cursor', cursor);
  return url.toString();
}

const r400: ResponseDoc = { description: 'Invalid parameter: `{ error, field }`', schema: validationErrorSchema };
const r401: ResponseDoc = { description: 'No user', schema: detailErrorSchema };
const r403: ResponseDoc = { description: 'Not allowed', schema: detailErrorSchema };
const r404: ResponseDoc = { description: 'No such run, or a run the caller may not see', schema: detailErrorSchema };
const r503: ResponseDoc = { description: 'The queue (or the database) cannot be reached', schema: detailErrorSchema };

const metadataFilterParam = {
  name: 'metadata.<key>',
  description:
    'Exact match on a top-level metadata key, compared as text, e.g. `metadata.tenant=acme`; keys `[A-Za-z0-9_]+` (else 400). Repeatable with different keys.',
};

/**
 * Builds the sub-app with every route of the REST API under `options.prefix`. Paths answer with and without the
 * trailing slash.
 */
export function createApp(tasks: AgentcoreTask, options: ResolvedHandlerOptions<unknown>): TasksApp {
  const ctx: HttpContext = { tasks, options };
  const origins = originPolicy(options);
  const maxBodyBytes = positiveInteger(options.maxBodyBytes) ?? BODY_DEFAULTS.maxBodyBytes;
  const { tracker } = tasks;
  const root = new Hono<HttpEnv>({ getPath: routingPath });
  root.onError((error) =>
    errorToResponse(error, {
      logger: tasks.logger,
      isTransientDatabaseError: (e) => tasks.dialect.isTransientError(e),
    }),
  );
  // Known paths, each with the methods it takes: a path that exists answers another method with 405 and `Allow`.
  const knownPaths: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  root.notFound((c) => {
    const path = routingPath(c.req.raw, { env: c.env });
    const allowed = new Set<string>();
    for (const known of knownPaths) if (known.pattern.test(path)) for (const m of known.methods) allowed.add(m);
    if (allowed.size > 0) {
      if (allowed.has('GET')) allowed.add('HEAD');
      const allow = [...allowed].join(', ');
      const message = `Method "${c.req.method}" not allowed.`;
      return errorToResponse(new HttpRequestError(405, message, { allow }), { logger: tasks.logger });
    }
    const response = json(c, { detail: 'Not found.' }, 404);
    unmatched.add(response);
    return response;
  });
  // basePath clones the app with the handlers above; both share one router.
  const app = options.prefix ? root.basePath(options.prefix) : root;
  const routes: RouteDoc[] = [];
  const route: RegisterRoute = (doc, handler) => {
    routes.push(doc);
    const method = doc.method.toUpperCase();
    // Registered without the trailing slash: `routingPath` drops it from request paths, so both forms match.
    app.on(method, doc.path.replace(/\{(\w+)\}/g, ':$1').replace(/\/$/, ''), handler);
    const source = `^${escapeRegExp(`${options.prefix}${doc.path}`.replace(/\/$/, '')).replace(/\\\{\w+\\\}/g, '[^/]+')}$`;
    const known = knownPaths.find((k) => k.pattern.source === source);
    if (known) known.methods.add(method);
    else knownPaths.push({ pattern: new RegExp(source), methods: new Set([method]) });
  };

  // ── Routes that do their own authentication (metrics scrape token, dashboard assets) go here, before
  // `authenticate`, each as one call such as `registerDashboardRoutes(route, ctx)` with `authenticated: false` docs.
  const streams = new StreamHub(ctx, options);
  registerMetricsRoute(route, ctx, () => streams.size);
  registerHealthRoutes(route, ctx);
  registerDashboardRoutes(route, {
    ...options,
    actions: () => supportsAction(tracker.queueSource, 'retry') && supportsAction(tracker.queueSource, 'cancel'),
  });

  const authenticate: MiddlewareHandler<HttpEnv> = async function authenticate(c, next) {
    // A path no route matches falls through to notFound (so a mount at the root can hand it on), signed in or not.
    if (!matchedRoutes(c).some((r) => r.handler !== authenticate)) return next();
    rejectCrossSiteRequest(c, origins);
    const user = await options.getUser(c.req.raw, c.env?.native);
    if (!user) throw new AuthenticationRequiredError();
    c.set('user', user);
    c.set('canViewAll', (await options.canViewAll(user)) === true);
    rejectNulCharacters(c.req.url);
    await next();
  };
  app.use('*', authenticate);

  // ── Lists and stats ───────────────────────────────────────────────────────────────────────────────────────────

  const listResponse = async (c: Context<HttpEnv>, filters: ExecutionFilters, query: ListQuery) => {
    const page = await tracker.listTaskExecutions(filters, {
      page: query.page,
      pageSize: query.page_size,
      ordering: query.ordering,
      cursor: query.cursor,
    });
    const serialize = metadataView(query);
    const results = page.results.map((run) => serializeExecution(run, serialize));
    // Links are built on the public origin (see origin.ts), never on the request's Host header.
    const self = publicRequestUrl(c, origins);
    const cursorLink = (cursor: string | null | undefined) => (cursor ? cursorUrl(self, cursor) : null);
    // Keyset paging (an extension): a request with a cursor gets cursor links, at a cost that does not grow with depth.
    if (query.cursor !== undefined)
      return json(c, {
        count: page.count,
        ...(page.countIsExact === false ? { count_is_exact: false } : {}),
        next: cursorLink(page.nextCursor),
        previous: cursorLink(page.previousCursor),
        results,
      });
    if (page.page > 1 && page.results.length === 0) throw new NotFoundError('Invalid page.');
    // Past the exact count bound the next link carries a cursor, so following links stays cheap on a long list.
    const next =
      page.countIsExact === false
        ? cursorLink(page.nextCursor)
        : page.page * page.pageSize < page.count
          ? pageUrl(self, page.page + 1)
          : null;
    return json(c, {
      count: page.count,
      ...(page.countIsExact === false ? { count_is_exact: false } : {}),
      next,
      previous: page.page > 1 ? pageUrl(self, page.page - 1) : null,
      results,
    });
  };

  const listDoc: Pick<RouteDoc, 'extraQuery' | 'tags' | 'responses'> = {
    extraQuery: [metadataFilterParam],
    tags: ['executions'],
    responses: {
      200: { description: 'One page of runs', schema: executionPageSchema },
      400: r400,
      401: r401,
      403: r403,
      404: { description: 'A page past the end: `{"detail": "Invalid page."}`', schema: detailErrorSchema },
    },
  };

  route(
    {
      ...listDoc,
      method: 'get',
      path: '/executions/my-tasks/',
      operationId: 'listMyExecutions',
      summary: "The caller's runs (paginated); the list's parameters except `created_by` and `my_tasks`.",
      query: myTasksQuerySchema,
    },
    async (c) => {
      const params = new URL(c.req.url).searchParams;
      const query = parseQuery(myTasksQuerySchema, params);
      const filters = listFilters(query, params);
      return listResponse(c, { ...filters, createdById: viewerOf(c).user.id }, query);
    },
  );

  route(
    {
      method: 'get',
      path: '/executions/stats/',
      operationId: 'executionStats',
      summary: 'Counts by status, by module and by task name, with an optional time series; scoped like the list.',
      tags: ['executions'],
      query: statsQuerySchema,
      responses: { 200: { description: 'Counts', schema: statsSchema }, 400: r400, 401: r401, 403: r403 },
    },
    async (c) => {
      const query = parseQuery(statsQuerySchema, new URL(c.req.url).searchParams);
      const createdById = resolveCreatorScope(viewerOf(c), query);
      const stats = await tracker.getTaskStats({
        module: query.module,
        taskName: query.task_name,
        startDate: query.start_date,
        endDate: query.end_date,
        createdById,
        granularity: query.granularity,
        durations: query.durations,
      });
      return json(c, stats);
    },
  );

  // ── One run by task id ────────────────────────────────────────────────────────────────────────────────────────

  /** The run the caller may see, synced from the queue first when asked. Visibility is checked before any sync. */
  const visibleByTaskId = async (c: Context<HttpEnv>, taskId: string, sync: boolean): Promise<TaskExecution> => {
    const run = await tracker.getTask(taskId);
    if (!run || !canSeeExecution(viewerOf(c), run)) throw notFound();
    if (!sync) return run;
    const synced = await tracker.syncTask(taskId);
    if (!synced) throw notFound();
    return synced;
  };

  const detailResponses = {
    200: { description: 'The run', schema: executionDetailSchema },
    400: r400,
    401: r401,
    404: r404,
    503: r503,
  };

  route(
    {
      method: 'get',
      path: '/executions/status/',
      operationId: 'executionStatus',
      summary: 'Status (detail) of a run by task id, synced from the queue unless `sync=false`.',
      tags: ['executions'],
      query: statusQuerySchema,
      responses: detailResponses,
    },
    async (c) => {
      const query = parseQuery(statusQuerySchema, new URL(c.req.url).searchParams);
      const run = await visibleByTaskId(c, query.task_id, query.sync !== false);
      return json(c, serializeExecutionDetail(run, metadataView(query)));
    },
  );

  route(
    {
      method: 'get',
      path: '/executions/by-task-id/{task_id}/',
      operationId: 'executionByTaskId',
      summary: 'Detail of a run by task id, synced from the queue unless `sync=false`.',
      tags: ['executions'],
      pathParams: taskIdParamSchema,
      query: byTaskIdQuerySchema,
      responses: detailResponses,
    },
    async (c) => {
      const query = parseQuery(byTaskIdQuerySchema, new URL(c.req.url).searchParams);
      const run = await visibleByTaskId(c, c.req.param('task_id') ?? '', query.sync !== false);
      return json(c, serializeExecutionDetail(run, metadataView(query)));
    },
  );

  // ── Routes under `executions/<word>/` added by other modules go here, e.g. `registerStreamRoutes(route, ctx)`
  // for `executions/stream/` and `executions/{id}/stream/`: they must be registered before `executions/{id}/`, which
  // would otherwise answer `executions/stream/` with 400 "id must be a positive integer".
  registerStreamRoutes(route, ctx, streams);
  registerExportRoute(route, ctx);

  // ── The list, and one run by primary key ──────────────────────────────────────────────────────────────────────

  route(
    {
      ...listDoc,
      method: 'get',
      path: '/executions/',
      operationId: 'listExecutions',
      summary: "Runs (paginated). Without `created_by`/`my_tasks`: the caller's own runs.",
      query: listQuerySchema,
    },
    async (c) => {
      const params = new URL(c.req.url).searchParams;
      const query = parseQuery(listQuerySchema, params);
      const filters = listFilters(query, params);
      const createdById = resolveCreatorScope(viewerOf(c), query);
      return listResponse(c, { ...filters, createdById }, query);
    },
  );

  /**
   * The `{id}` run the caller may see, and the metadata view asked for. Both are validated (path first) before the row
   * is read, so a bad parameter is a 400 whoever owns the run, and a sync never starts on one.
   */
  const visibleById = async (c: Context<HttpEnv>) => {
    const { id } = parseWith(idParamSchema, { id: c.req.param('id') });
    const view = metadataView(parseQuery(detailQuerySchema, new URL(c.req.url).searchParams));
    const run = await tracker.getById(id);
    if (!run || !canSeeExecution(viewerOf(c), run)) throw notFound();
    return { run, view };
  };

  route(
    {
      method: 'get',
      path: '/executions/{id}/',
      operationId: 'executionDetail',
      summary: 'Detail of a run by primary key.',
      tags: ['executions'],
      pathParams: idParamSchema,
      query: detailQuerySchema,
      responses: { 200: detailResponses[200], 400: r400, 401: r401, 404: r404 },
    },
    async (c) => {
      const { run, view } = await visibleById(c);
      return json(c, serializeExecutionDetail(run, view));
    },
  );

  route(
    {
      method: 'post',
      path: '/executions/{id}/sync/',
      operationId: 'syncExecution',
      summary: 'Pull the state of the run from the queue into the row; returns the detail (unchanged without a queue).',
      tags: ['executions'],
      pathParams: idParamSchema,
      query: detailQuerySchema,
      responses: detailResponses,
    },
    async (c) => {
      const { run, view } = await visibleById(c);
      const synced = await tracker.syncTask(run.taskId);
      if (!synced) throw notFound();
      return json(c, serializeExecutionDetail(synced, view));
    },
  );

  // Admin actions on the run's queue job (extensions): `executions/{id}/retry/` and `executions/{id}/cancel/`.
  registerActionRoutes(route, ctx);

  // ── Configuration, locks, the document ────────────────────────────────────────────────────────────────────────

  route(
    {
      method: 'get',
      path: '/config/',
      operationId: 'getConfig',
      summary: 'Effective settings (environment, code, then run-time overrides).',
      tags: ['config'],
      responses: { 200: { description: 'Settings', schema: configSchema }, 401: r401 },
    },
    async (c) => json(c, settingsToWire(await tasks.settings.get())),
  );

  route(
    {
      method: 'patch',
      path: '/config/',
      operationId: 'patchConfig',
      summary:
        'Store run-time overrides (admins only), effective at once in every process. `timeout_minutes` 1–1440, `retention_days` 1–3650, 5-field crontabs.',
      tags: ['config'],
      body: configPatchBodySchema,
      responses: {
        200: { description: 'The effective settings after the change', schema: configSchema },
        400: r400,
        401: r401,
        403: r403,
        413: { description: 'The body is larger than `maxBodyBytes` (default 1 MiB)', schema: detailErrorSchema },
        415: { description: 'The body is not `application/json`', schema: detailErrorSchema },
      },
    },
    async (c) => {
      if (!(await options.isAdmin(c.get('user'))))
        throw new ForbiddenError('Only admins may change the configuration.');
      const body = await readJsonBody(c.req.raw, maxBodyBytes);
      return json(c, settingsToWire(await tasks.settings.patch(body)));
    },
  );

  route(
    {
      method: 'get',
      path: '/locks/',
      operationId: 'listLocks',
      summary: 'Locks currently held: name, owner, expiry (admins only).',
      tags: ['locks'],
      responses: { 200: { description: 'Held locks', schema: locksSchema }, 401: r401, 403: r403 },
    },
    async (c) => {
      if (!(await options.isAdmin(c.get('user')))) throw new ForbiddenError('Only admins may list locks.');
      const locks = await tasks.locks.listLocks();
      return json(c, {
        count: locks.length,
        results: locks.map((l) => ({
          name: l.name,
          owner: l.owner,
          expires_at: l.expiresAt ? l.expiresAt.toISOString() : null,
        })),
      });
    },
  );

  // ── Other authenticated routes (metrics, …) go here.

  route(
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This document.',
      tags: ['meta'],
      responses: { 200: { description: 'OpenAPI 3.1 document' }, 401: r401 },
    },
    (c) => {
      const url = publicRequestUrl(c, origins);
      const serverUrl = `${url.origin}${url.pathname.replace(/\/?openapi\.json\/?$/, '')}`;
      return json(c, buildOpenApiDocument(routes, { serverUrl }));
    },
  );

  return { app: root, routes, context: ctx };
}

function positiveInteger(value: number | undefined): number | undefined {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
