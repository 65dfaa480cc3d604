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
});
