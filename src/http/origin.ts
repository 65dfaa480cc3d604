/**
 * Where absolute links point (`next`/`previous`, the OpenAPI server URL) and which origins may make state-changing
 * requests with the user's cookies. Neither trusts a bare `Host` header: a client chooses it freely, so echoing it
 * lets anyone who can get a response cached or shown to another user point their links elsewhere.
 */
import type { Context } from 'hono';
import { ForbiddenError } from '../errors.js';
import type { HttpEnv } from './context.js';

/** Handler options about the public address of the API and cross-origin requests. */
export interface OriginOptions {
  /**
   * The URL clients reach this server at, e.g. `https://tasks.example.com` (a path is put before the request's path,
   * for a proxy that serves the API under a prefix of its own). Absolute links are built on it.
   * @defaultValue none: see `trustProxy`, then the address the server listens on (Express/Fastify mounts, `serve`),
   * then, for the Web handler alone, the URL of the `Request` the runtime built.
   */
  publicUrl?: string;
  /**
   * Read the client-facing scheme and host from `X-Forwarded-Proto` and `X-Forwarded-Host`. Turn it on only behind a
   * proxy that sets both (and drops any a client sent), such as nginx with `proxy_set_header X-Forwarded-Host $host`.
   * @defaultValue `false`
   */
  trustProxy?: boolean;
  /**
   * Origins (`https://app.example.com`) besides the API's own that may send state-changing requests (`POST …/sync/`,
   * `PATCH config/`) carrying cookies, like Django's `CSRF_TRUSTED_ORIGINS`. @defaultValue `[]`
   */
  trustedOrigins?: readonly string[];
}

const SCHEME = /^https?$/;
// A host name or address with an optional port: no path, user info or spaces can slip into a link through it.
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const first = (value: string | null | undefined) => value?.split(',')[0]?.trim() || undefined;

/** The resolved options: `base` of every absolute link when it is fixed, and the trusted origins. */
export interface OriginPolicy {
  base: string | undefined;
  trustProxy: boolean;
  trustedOrigins: ReadonlySet<string>;
}

/** Validates the options once (a bad `publicUrl` fails at start, not on every request). */
export function originPolicy(options: OriginOptions): OriginPolicy {
  let base: string | undefined;
  if (options.publicUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.publicUrl);
    } catch {
      throw new TypeError(`agentcore-task handler: publicUrl must be an absolute URL, got ${options.publicUrl}`);
    }
    if (!SCHEME.test(url.protocol.slice(0, -1)))
      throw new TypeError(`agentcore-task handler: publicUrl must be http(s), got ${options.publicUrl}`);
    base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }
  const trustedOrigins = new Set<string>();
  for (const origin of options.trustedOrigins ?? []) trustedOrigins.add(new URL(origin).origin);
  if (base) trustedOrigins.add(new URL(base).origin);
  return { base, trustProxy: options.trustProxy === true, trustedOrigins };
}

/** The origin (and path before the request's) absolute links of this request start with. */
export function linkBase(c: Context<HttpEnv>, policy: OriginPolicy): string {
  if (policy.base) return policy.base;
  const url = new URL(c.req.url);
  if (policy.trustProxy) {
    const proto = first(c.req.header('x-forwarded-proto'));
    const host = first(c.req.header('x-forwarded-host'));
    const scheme = proto && SCHEME.test(proto) ? proto : url.protocol.slice(0, -1);
    return `${scheme}://${host && HOST.test(host) ? host : url.host}`;
  }
  return c.env?.localOrigin ?? url.origin;
}

/** The absolute URL of this request's path and query string on the public origin. */
export function publicRequestUrl(c: Context<HttpEnv>, policy: OriginPolicy): URL {
  const url = new URL(c.req.url);
  return new URL(`${linkBase(c, policy)}${url.pathname}${url.search}`);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses (403) a state-changing request that carries cookies and comes from another site, as Django's CSRF
 * middleware does with `Origin`: `Sec-Fetch-Site: cross-site` is refused; otherwise an `Origin` must be the API's own
 * (the request's host, which a browser sets and a page cannot), the public URL's, one the proxy reports when trusted,
 * or a trusted origin. Requests without cookies (bearer tokens) cannot be forged by a page, so they pass.
 */
export function rejectCrossSiteRequest(c: Context<HttpEnv>, policy: OriginPolicy): void {
  if (SAFE_METHODS.has(c.req.method) || !c.req.header('cookie')) return;
  const site = c.req.header('sec-fetch-site')?.toLowerCase();
  if (site === 'cross-site') throw crossSite();
  if (site === 'same-origin' || site === 'none') return;
  const origin = c.req.header('origin');
  if (origin === undefined) {
    if (site === 'same-site') throw crossSite(); // a sibling site that sent no Origin cannot be checked
    return; // not a browser (browsers send Origin with every cross-origin POST/PATCH)
  }
  if (origin === 'null') throw crossSite();
  const own = new URL(c.req.url).origin;
  if (origin === own || policy.trustedOrigins.has(origin)) return;
  if (policy.trustProxy && origin === new URL(linkBase(c, policy)).origin) return;
  throw crossSite();
}

const crossSite = () =>
  new ForbiddenError('Cross-site request refused: this request carries cookies and comes from another origin.');
