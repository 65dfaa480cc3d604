import type { AgentcoreTask } from '../create.js';
import type { DashboardOptions } from '../dashboard/serve.js';
import type { BodyOptions } from './body.js';
import type { MetricsOptions } from './metrics.js';
import type { OriginOptions } from './origin.js';
import type { StreamOptions } from './stream.js';

/** The caller, as the host application knows it. */
export interface HttpUser {
  /** The host's user id. Runs record it as `created_by_id`. */
  id: string | number;
  username?: string | null;
  /** Admins see every run (default `canViewAll`), change `config/` and list `locks/` (default `isAdmin`). */
  isAdmin?: boolean;
}

/**
 * Resolves the caller of a request; `null`/`undefined` → 401. It always receives a Web `Request` (headers and
 * cookies included); the Express and Fastify mounts pass their native request object as the second argument, so a
 * host can read `req.user` or `req.session` set by its own middleware.
 */
export type GetUser<Native = undefined> = (
  request: Request,
  native: Native,
) => HttpUser | null | undefined | Promise<HttpUser | null | undefined>;

/** Options of `createHandler` / `tasks.handler()` and of the Express and Fastify mounts. */
export interface HandlerOptions<Native = undefined>
  extends StreamOptions,
    MetricsOptions,
    DashboardOptions,
    BodyOptions,
    OriginOptions {
  /** Who is calling (the host's authentication). Required: without a user every route answers 401. */
  getUser: GetUser<Native>;
  /**
   * Whether `user` may see other users' runs (and runs with no creator).
   * @defaultValue `(user) => user.isAdmin === true`
   */
  canViewAll?: (user: HttpUser) => boolean | Promise<boolean>;
  /**
   * Whether `user` may change `config/` and list `locks/`.
   * @defaultValue `(user) => user.isAdmin === true`
   */
  isAdmin?: (user: HttpUser) => boolean | Promise<boolean>;
  /**
   * The path the handler is mounted at, e.g. `/api/v1/tasks` (Web handler only; the Express and Fastify mounts find
   * it themselves).
   * @defaultValue `''` (routes at the root: `/executions/`)
   */
  prefix?: string;
  // Options of routes added by other modules (streams, metrics, dashboard) are added here.
}

const isAdminUser = (user: HttpUser): boolean => user.isAdmin === true;

/** Every default of the handler options, in one place. */
export const HANDLER_DEFAULTS = Object.freeze({
  canViewAll: isAdminUser,
  isAdmin: isAdminUser,
  prefix: '',
});

/** Handler options with their defaults applied. */
export type ResolvedHandlerOptions<Native = undefined> = Omit<
  HandlerOptions<Native>,
  'canViewAll' | 'isAdmin' | 'prefix'
> &
  Required<Pick<HandlerOptions<Native>, 'getUser' | 'canViewAll' | 'isAdmin' | 'prefix'>>;

export function resolveHandlerOptions<Native>(options: HandlerOptions<Native>): ResolvedHandlerOptions<Native> {
  if (!options || typeof options.getUser !== 'function')
    throw new TypeError('agentcore-task handler: options.getUser(request) is required');
  return {
    ...options,
    getUser: options.getUser,
    canViewAll: options.canViewAll ?? HANDLER_DEFAULTS.canViewAll,
    isAdmin: options.isAdmin ?? HANDLER_DEFAULTS.isAdmin,
    prefix: normalizePrefix(options.prefix ?? HANDLER_DEFAULTS.prefix),
  };
}

/** `api/v1/tasks/` → `/api/v1/tasks`; `/` and `''` → `''`. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** What every route of the HTTP layer works with. */
export interface HttpContext {
  tasks: AgentcoreTask;
  // The native request type is erased here: routes only pass it through to getUser.
  options: ResolvedHandlerOptions<unknown>;
}

/** The Hono environment of the sub-app: the resolved caller, set by the authentication middleware. */
export type HttpEnv = {
  Bindings: {
    /** The framework's own request object (Express/Fastify mounts), passed to `getUser`. */
    native: unknown;
    /**
     * The path this request's mount lives at when it varies per request (Express `req.baseUrl`): stripped before
     * routing, while `request.url` (and so every link the API returns) keeps it.
     */
    mountPath?: string;
    /**
     * Set by the Node mounts (Express, Fastify), which write a response themselves: JSON is then answered with a
     * `BufferedResponse` (see `http/node.ts`) instead of a Web `Response`, sparing a Web stream per request.
     */
    buffered?: boolean;
    /**
     * `scheme://address:port` the server accepted the connection on (Node mounts): the origin of absolute links when
     * no `publicUrl` is set and proxies are not trusted, so they never come from the client's `Host` header.
     */
    localOrigin?: string;
  };
  Variables: {
    user: HttpUser;
    /** `canViewAll(user)`, resolved once per request. */
    canViewAll: boolean;
  };
};
