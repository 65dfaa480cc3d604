import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { createAgentcoreTask, silentLogger } from '../../src/index.js';

describe('dashboard assets', () => {
  it('the committed bundle is what the UI sources build to', () => {
    // Throws (non-zero exit) when src/dashboard/assets is stale.
    execFileSync(process.execPath, ['scripts/build-dashboard.mjs', '--check'], { stdio: 'pipe' });
  });

  it('are served publicly under dashboard/, with a strict CSP, revalidated by ETag; nothing else is', async () => {
    const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger });
    try {
      const handle = createHandler(tasks, { getUser: () => null, prefix: '/t' });
      const redirect = await handle(new Request('http://x/t/dashboard'));
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get('location')).toBe('dashboard/');
      const page = await handle(new Request('http://x/t/dashboard/'));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await page.text();
      expect(html).toContain('./assets/app.js');
      expect(html).not.toMatch(/https?:\/\//); // no external resource
      for (const [name, type] of [
        ['app.js', /^text\/javascript/],
        ['app.css', /^text\/css/],
      ] as const) {
        const asset = await handle(new Request(`http://x/t/dashboard/assets/${name}`));
        expect(asset.status).toBe(200);
        expect(asset.headers.get('content-type')).toMatch(type);
        expect(await asset.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
        const again = await handle(
          new Request(`http://x/t/dashboard/assets/${name}`, {
            headers: { 'if-none-match': asset.headers.get('etag')! },
          }),
        );
        expect(again.status).toBe(304);
      }
      for (const path of ['assets/..%2F..%2Fserve.ts', 'assets/serve.ts', 'assets/missing.js'])
        expect((await handle(new Request(`http://x/t/dashboard/${path}`))).status).toBe(404);
      expect((await handle(new Request('http://x/t/executions/'))).status).toBe(401); // the API itself still needs a user
      const off = createHandler(tasks, { getUser: () => null, prefix: '/t', dashboard: false });
      expect((await off(new Request('http://x/t/dashboard/'))).status).toBe(404);
    } finally {
      await tasks.close();
    }
  });
  it('dashboard/session answers 200 signed in or not (no 401/403 for the page to log), with what the caller may see', async () => {
    const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger });
    try {
      const users: Record<string, { id: number; username: string; isAdmin?: boolean }> = {
        a: { id: 1, username: 'alice' },
        r: { id: 9, username: 'root', isAdmin: true },
      };
      const handle = createHandler(tasks, {
        getUser: (request) => users[request.headers.get('authorization')?.slice(7) ?? ''] ?? null,
        prefix: '/t',
      });
      const ask = async (token?: string) => {
        const response = await handle(
          new Request('http://x/t/dashboard/session', { headers: token ? { authorization: `Bearer ${token}` } : {} }),
        );
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
        return response.json();
      };
      expect(await ask()).toEqual({
        signed_in: false,
        user: null,
        can_view_all: false,
        is_admin: false,
        actions: false,
      });
      expect(await ask('wrong')).toEqual({
        signed_in: false,
        user: null,
        can_view_all: false,
        is_admin: false,
        actions: false,
      });
      expect(await ask('a')).toEqual({
        signed_in: true,
        user: { id: 1, username: 'alice' },
        can_view_all: false,
        is_admin: false,
        actions: false,
      });
      expect(await ask('r')).toMatchObject({ signed_in: true, can_view_all: true, is_admin: true });
    } finally {
      await tasks.close();
    }
  });
});
