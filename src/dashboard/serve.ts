/**
 * Serves the built dashboard (`assets/` beside this file: `src/dashboard/assets` when running from source,
 * `dist/dashboard/assets` when installed) at `dashboard/`. The page and its assets are public (they hold no data); the
 * page signs in against the API like any other client.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { RegisterRoute } from '../http/app.js';
import type { HttpUser, ResolvedHandlerOptions } from '../http/context.js';

/** Handler option of the dashboard. */
export interface DashboardOptions {
  /** Serve the dashboard at `dashboard/`. @defaultValue `true` */
  dashboard?: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Only our own origin, nothing inline: the page makes no request elsewhere (no CDN, no font service), and a stray
 * external reference fails in the browser instead of leaking the user's IP. Preact sets styles through the CSSOM,
 * which `style-src 'self'` allows.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** The built files, read once. */
class AssetStore {
  private loading: Promise<Map<string, Asset>> | undefined;
  constructor(private readonly dir: URL) {}

  get(name: string): Promise<Asset | undefined> {
    this.loading ??= this.load().catch((error) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading.then((assets) => assets.get(name));
  }

  private async load(): Promise<Map<string, Asset>> {
    const assets = new Map<string, Asset>();
    for (const name of await readdir(this.dir)) {
      const ext = name.slice(name.lastIndexOf('.'));
      const type = TYPES[ext];
      if (!type) continue;
      const body = new Uint8Array(await readFile(new URL(name, this.dir)));
      assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
    return assets;
  }
}

/** Where the built assets are, next to this module in `src/` and in `dist/`. */
export const DASHBOARD_ASSETS = new URL('./assets/', import.meta.url);

/** What `GET dashboard/session` answers: who the page is signed in as, and what they may see. */
export interface DashboardSession {
  signed_in: boolean;
  user: { id: string | number; username: string | null } | null;
  /** The caller may list every user's runs (`my_tasks=false`). */
  can_view_all: boolean;
  /** The caller may list locks and change the configuration. */
  is_admin: boolean;
  /**
   * The caller may retry and cancel runs' queue jobs (`POST executions/{id}/retry/`, `…/cancel/`): an admin, on an
   * instance whose queue source supports both.
   */
  actions: boolean;
}

/** The handler options the dashboard reads: its own switch, and how the handler resolves and ranks users. */
type DashboardHandlerOptions = DashboardOptions &
  Partial<Pick<ResolvedHandlerOptions<unknown>, 'getUser' | 'canViewAll' | 'isAdmin'>> & {
    /** `true` when the instance's queue source can retry and cancel jobs (read per request: it can be replaced). */
    actions?: () => boolean;
  };

/**
 * Registers `GET dashboard/`, `GET dashboard/assets/{file}` and `GET dashboard/session` (before the authentication
 * middleware).
 */
export function registerDashboardRoutes(
  route: RegisterRoute,
  options: DashboardHandlerOptions,
  dir: URL = DASHBOARD_ASSETS,
): void {
  if (options.dashboard === false) return;
  const store = new AssetStore(dir);
  const serve = async (name: string, request: Request): Promise<Response> => {
    const asset = await store.get(name);
    if (!asset)
      return new Response(JSON.stringify({ detail: 'Not found.' }), {
        status: 404,
        headers: { 'content-type': 'application/json' },
      });
    // Fixed file names, so revalidate every time; the ETag makes that a 304.
    const headers = { 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag, ...SECURITY_HEADERS };
    if (request.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(asset.body, { status: 200, headers });
  };

  route(
    {
      method: 'get',
      path: '/dashboard/',
      operationId: 'dashboard',
      summary: 'The web dashboard (HTML). It signs in with a bearer token or the host session.',
      tags: ['dashboard'],
      authenticated: false,
      responses: { 200: { description: 'The dashboard page', contentType: 'text/html' } },
    },
    async (c) => {
      // The page loads `./assets/…` relative to itself, so it must be addressed with the trailing slash.
      if (!new URL(c.req.url).pathname.endsWith('/')) return c.redirect('dashboard/', 308);
      return serve('index.html', c.req.raw);
    },
  );
  route(
    {
      method: 'get',
      path: '/dashboard/assets/{file}',
      operationId: 'dashboardAsset',
      summary: 'A built asset of the dashboard (JavaScript, CSS).',
      tags: ['dashboard'],
      authenticated: false,
      responses: {
        200: { description: 'The file', contentType: 'application/octet-stream' },
        404: { description: 'No such asset' },
      },
    },
    // Only names found in the assets folder are served: a path like `..%2f` matches nothing.
    async (c) => serve(c.req.param('file') ?? '', c.req.raw),
  );
  const { getUser, canViewAll, isAdmin, actions } = options;
  if (!getUser) return;
  route(
    {
      method: 'get',
      path: '/dashboard/session',
      operationId: 'dashboardSession',
      summary:
        'Who the dashboard is signed in as (bearer token or host session) and what they may see. Always 200, signed in or not.',
      description:
        'The page asks this instead of probing a route that answers 401 or 403, which browsers log as console errors.',
      tags: ['dashboard'],
      authenticated: false,
      responses: { 200: { description: '`{ signed_in, user, can_view_all, is_admin, actions }`' } },
    },
    async (c) => {
      const user: HttpUser | null | undefined = await getUser(c.req.raw, c.env?.native);
      const admin = user ? (await isAdmin?.(user)) === true : false;
      const body: DashboardSession = user
        ? {
            signed_in: true,
            user: { id: user.id, username: user.username ?? null },
            can_view_all: (await canViewAll?.(user)) === true,
            is_admin: admin,
            actions: admin && actions?.() === true,
          }
        : { signed_in: false, user: null, can_view_all: false, is_admin: false, actions: false };
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        },
      });
    },
  );
}
