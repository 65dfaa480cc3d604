import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/**
 * Tests what ships: the built `dist/` (npm test builds it first) through the package's own `exports`, as an installed
 * user would import it — not the TypeScript sources the rest of the suite runs.
 */
describe('the published package', () => {
  it('exports the four entry points from dist, with types', async () => {
    for (const [subpath, target] of Object.entries(pkg.exports as Record<string, { import: string; types: string }>)) {
      if (subpath === './package.json') continue;
      expect(readFileSync(`${root}${target.types}`, 'utf8').length, target.types).toBeGreaterThan(0);
      const specifier = subpath === '.' ? 'agentcore-task' : `agentcore-task/${subpath.slice(2)}`;
      const url = import.meta.resolve(specifier);
      expect(url, specifier).toContain('/dist/');
    }
    const core = await import('agentcore-task');
    expect(typeof core.createAgentcoreTask).toBe('function');
    expect(core.TaskStatus.SUCCESS).toBe('SUCCESS');
    expect(typeof core.TaskLogCollector).toBe('function');
    const bullmq = await import('agentcore-task/bullmq');
    for (const name of [
      'dispatch',
      'tracked',
      'instrumentWorker',
      'scheduleMaintenance',
      'createMaintenanceWorker',
      'useBullmqSync',
    ])
      expect(typeof (bullmq as Record<string, unknown>)[name], name).toBe('function');
    expect(typeof (await import('agentcore-task/express')).tasksExpress).toBe('function');
    expect(typeof (await import('agentcore-task/fastify')).tasksFastify).toBe('function');
  });

  it('serves the dashboard from the built assets', async () => {
    const { createAgentcoreTask, silentLogger } = await import('agentcore-task');
    const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, env: {} });
    try {
      const handle = tasks.handler({ prefix: '/t', getUser: () => ({ id: 1 }) });
      const page = await handle(new Request('http://x/t/dashboard/'));
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = html.match(/src="([^"]+\.js)"/)?.[1];
      expect(script).toBeTruthy();
      const asset = await handle(new Request(new URL(script!, 'http://x/t/dashboard/')));
      expect(asset.status).toBe(200);
      expect((await asset.text()).length).toBeGreaterThan(1000);
    } finally {
      await tasks.close();
    }
  });

  it('the bin runs from dist and the tarball holds what it needs', () => {
    const help = execFileSync(process.execPath, [`${root}${pkg.bin['agentcore-task']}`, '--help'], {
      encoding: 'utf8',
    });
    expect(help).toMatch(/serve/);
    expect(readFileSync(`${root}${pkg.bin['agentcore-task']}`, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' }),
    );
    const files = new Set((packed.files as Array<{ path: string }>).map((f) => f.path));
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/queue/bullmq/index.js',
      'dist/http/express.js',
      'dist/http/fastify.js',
      'dist/cli/main.js',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
    ])
      expect(files.has(f), f).toBe(true);
    expect([...files].some((f) => f.startsWith('dist/dashboard/assets/'))).toBe(true);
    expect([...files].some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
    // Nothing shipped (help text, TSDoc in the .d.ts, docs) points at the project's internal specification.
    const citing = [...files].filter(
      (f) => /\.(js|d\.ts|md|json|html)$/.test(f) && /\bSPEC\b/.test(readFileSync(`${root}${f}`, 'utf8')),
    );
    expect(citing).toEqual([]);
  });

  it('every entry point offers types first, then import and a default that require() on Node >= 20.19 takes', () => {
    for (const [subpath, target] of Object.entries(pkg.exports as Record<string, Record<string, string> | string>)) {
      if (typeof target === 'string') continue;
      expect(Object.keys(target), subpath).toEqual(['types', 'import', 'default']);
      expect(target.default, subpath).toBe(target.import);
    }
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(`${root}LICENSE`, 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 agentcore-task contributors/,
    );
  });

  it('declares the drivers, queues and frameworks as optional peers with the ranges CI tests', () => {
    expect(pkg.peerDependencies).toEqual({
      'better-sqlite3': '^12',
      bullmq: '^5 || ^6',
      express: '^4 || ^5',
      fastify: '^4 || ^5',
      ioredis: '^5 || ^6',
      mysql2: '^3',
      pg: '^8',
    });
    for (const name of Object.keys(pkg.peerDependencies))
      expect(pkg.peerDependenciesMeta[name], name).toEqual({ optional: true });
    // A peer is never also a runtime dependency (npm would install it for users who do not want it).
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.dependencies[name], name).toBeUndefined();
  });
});
