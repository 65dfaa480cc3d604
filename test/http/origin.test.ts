/**
 * Links and the OpenAPI server URL never come from a bare `Host` header (public URL, trusted proxy headers, else the
 * listening address); cookie-carrying state-changing requests from another origin are refused; JSON answers carry
 * `nosniff` and `no-store`.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { MOUNTS, type Mounted, mount, PREFIX } from './mounts.js';

const admin = { id: 99, username: 'root', isAdmin: true };
// Cookie sessions (what CSRF is about) and bearer tokens (what it is not about).
const getUser = (request: Request) =>
  /(?:^|;\s*)session=admin(?:;|$)/.test(request.headers.get('cookie') ?? '') ||
  request.headers.get('authorization') === 'Bearer admin'
    ? admin
    : null;
const cookie = { cookie: 'session=admin' };
const bearer = { authorization: 'Bearer admin' };

/** A raw GET with any Host header (fetch does not let a caller set it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('absolute links', () => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    for (let i = 0; i < 3; i++)
      await tasks.registerTaskExecution({ taskId: `link-${i}`, taskName: 't', module: 'm', createdBy: { id: 99 } });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it.each(['express', 'fastify'] as const)(
    'the %s mount ignores a forged Host (links on the listening address)',
    async (name) => {
      const mounted = await mount(name, tasks, getUser);
      try {
        const base = new URL((await mounted.request('/config/')).url).origin;
        const page = await rawGet(`${base}${PREFIX}/executions/?page_size=1`, { ...bearer, host: 'evil.example' });
        expect(page.status).toBe(200);
        const next = JSON.parse(page.body).next as string;
        expect(next).toBe(`${base}${PREFIX}/executions/?page_size=1&page=2`);
        const doc = await rawGet(`${base}${PREFIX}/openapi.json`, { ...bearer, host: 'evil.example' });
        expect(JSON.parse(doc.body).servers).toEqual([{ url: `${base}${PREFIX}` }]);
        // X-Forwarded-* are ignored unless the host trusts its proxy.
        const forwarded = await rawGet(`${base}${PREFIX}/executions/?page_size=1`, {
          ...bearer,
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
        });
        expect(JSON.parse(forwarded.body).next).toMatch(new RegExp(`^${base}/`));
      } finally {
        await mounted.close();
      }
    },
  );

  it.each(MOUNTS)('the %s mount builds links on publicUrl (with its path) when set', async (name) => {
    const mounted = await mount(name, tasks, getUser, { publicUrl: 'https://tasks.example.com/proxied/' });
    try {
      const page = await (await mounted.request('/executions/?page_size=1', { headers: bearer })).json();
      expect(page.next).toBe(`https://tasks.example.com/proxied${PREFIX}/executions/?page_size=1&page=2`);
      const doc = await (await mounted.request('/openapi.json', { headers: bearer })).json();
      expect(doc.servers).toEqual([{ url: `https://tasks.example.com/proxied${PREFIX}` }]);
    } finally {
      await mounted.close();
    }
  });

  it.each(MOUNTS)('the %s mount reads X-Forwarded-Proto/Host with trustProxy', async (name) => {
    const mounted = await mount(name, tasks, getUser, { trustProxy: true });
    try {
      const headers = { ...bearer, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'proxy.example, inner' };
      const page = await (await mounted.request('/executions/?page_size=1&page=2', { headers })).json();
      expect(page.previous).toBe(`https://proxy.example${PREFIX}/executions/?page_size=1`);
      // A forwarded host that is not a host name is ignored rather than copied into links.
      const bad = { ...bearer, 'x-forwarded-proto': 'javascript', 'x-forwarded-host': 'a.example/evil?' };
      const odd = await (await mounted.request('/executions/?page_size=1', { headers: bad })).json();
      expect(odd.next).not.toMatch(/evil|javascript/);
    } finally {
      await mounted.close();
    }
  });

  it('refuses a publicUrl that is not an http(s) URL', () => {
    expect(() => createHandler(tasks, { getUser, publicUrl: 'tasks.example.com' })).toThrow(/publicUrl/);
    expect(() => createHandler(tasks, { getUser, publicUrl: 'ftp://tasks.example.com' })).toThrow(/publicUrl/);
  });
});

describe.each(MOUNTS)('cross-site requests and JSON headers through the %s mount', (name) => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let mounted: Mounted;
  let own: string;
  let runId: number;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    runId = (await tasks.registerTaskExecution({
      taskId: 'csrf-1',
      taskName: 't',
      module: 'm',
      createdBy: { id: 99 },
    }))!.id;
    mounted = await mount(name, tasks, getUser, { trustedOrigins: ['https://app.example.com'] });
    // The Web mount's requests are made on http://tasks.test (mounts.ts); a Response it builds has no url.
    own = name === 'web' ? 'http://tasks.test' : new URL((await mounted.request('/config/')).url).origin;
  });
  afterAll(async () => {
    await mounted?.close();
    await tasks?.close();
  });
  const retention = async () =>
    ((await (await mounted.request('/config/', { headers: bearer })).json()) as { retention_days: number })
      .retention_days;
  const patch = (headers: Record<string, string>, days: number) =>
    mounted.request('/config/', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ retention_days: days }),
    });

  it.each([
    ['another Origin', { ...cookie, origin: 'https://evil.example' }],
    ['Origin: null', { ...cookie, origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { ...cookie, 'sec-fetch-site': 'cross-site' }],
    ['same-site without Origin', { ...cookie, 'sec-fetch-site': 'same-site' }],
    ['a sibling subdomain', { ...cookie, 'sec-fetch-site': 'same-site', origin: 'https://other.example.com' }],
  ])('refuses PATCH config/ and POST sync with cookies from %s (403, nothing changed)', async (_label, headers) => {
    const before = await retention();
    const response = await patch(headers, before + 1);
    expect(response.status).toBe(403);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/Cross-site/);
    expect(await retention()).toBe(before);
    const sync = await mounted.request(`/executions/${runId}/sync/`, { method: 'POST', headers });
    expect(sync.status).toBe(403);
  });

  it.each([
    ['the same origin', () => ({ ...cookie, origin: own })],
    ['Sec-Fetch-Site: same-origin', () => ({ ...cookie, 'sec-fetch-site': 'same-origin', origin: own })],
    ['a trusted origin', () => ({ ...cookie, origin: 'https://app.example.com' })],
    ['a non-browser client with cookies and no Origin', () => cookie],
    ['a bearer token from another origin', () => ({ ...bearer, origin: 'https://evil.example' })],
  ])('accepts PATCH config/ from %s', async (_label, headers) => {
    const days = 20 + Math.floor(Math.random() * 100);
    const response = await patch(headers(), days);
    expect(response.status).toBe(200);
    expect(await retention()).toBe(days);
  });

  it('reads with cookies from another origin still work (CORS is the host’s to allow)', async () => {
    const response = await mounted.request('/executions/', { headers: { ...cookie, origin: 'https://evil.example' } });
    expect(response.status).toBe(200);
  });

  it.each([
    ['/executions/', bearer, 200],
    ['/executions/999999/', bearer, 404],
    ['/executions/?status=NOPE', bearer, 400],
    ['/executions/', {}, 401],
    ['/config/', bearer, 200],
    ['/locks/', bearer, 200],
    ['/openapi.json', bearer, 200],
    ['/executions/stats/', bearer, 200],
  ] as const)('GET %s answers JSON with nosniff and no-store', async (path, headers, status) => {
    const response = await mounted.request(path, { headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('405 and 403 answers carry them too', async () => {
    for (const response of [
      await mounted.request('/executions/', { method: 'PUT', headers: bearer }),
      await patch({ ...cookie, origin: 'https://evil.example' }, 3),
    ]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });
});
