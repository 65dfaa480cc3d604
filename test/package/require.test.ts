/**
 * `require('agentcore-task')` from a CommonJS project. The package is ESM; Node >= 20.19 can `require()` an ES module
 * when the export map offers a condition `require` matches (`default`) and no module of the graph uses top-level
 * await. The tarball `npm pack` makes from the built `dist/` is unpacked into a copy of the CommonJS fixture
 * (test/package/fixtures/cjs-app), exactly where `npm install` would put it; its dependencies are this repository's
 * installed ones (a link), so no registry is needed. Each entry point is required in a child `node`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const fixture = new URL('./fixtures/cjs-app/', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/** Node's own version gate for `require(esm)` without a flag. */
const [major, minor] = process.versions.node.split('.').map(Number);
const requireEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);

describe.skipIf(!requireEsm)('require() from a CommonJS project', () => {
  let dir: string;
  let app: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'act-require-'));
    // --ignore-scripts: `prepare` would rebuild; the test is about the dist/ that `npm test` built just before.
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
        cwd: root,
        encoding: 'utf8',
      }),
    );
    app = join(dir, 'app');
    cpSync(fixture, app, { recursive: true });
    const installed = join(app, 'node_modules', 'agentcore-task');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir');
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function run(script: string) {
    return spawnSync(process.execPath, [script], { cwd: app, encoding: 'utf8', timeout: 30_000 });
  }

  it('requires every entry point from the packed package and records a run through it', () => {
    const result = run('require-entries.js');
    expect(result.status, result.stderr).toBe(0);
    const found = JSON.parse(result.stdout);
    expect(found.resolved).toEqual([
      join(app, 'node_modules/agentcore-task/dist/index.js'),
      join(app, 'node_modules/agentcore-task/dist/queue/bullmq/index.js'),
      join(app, 'node_modules/agentcore-task/dist/http/express.js'),
      join(app, 'node_modules/agentcore-task/dist/http/fastify.js'),
    ]);
    expect(found).toMatchObject({
      version: pkg.version,
      createAgentcoreTask: 'function',
      tracked: 'function',
      dispatch: 'function',
      tasksExpress: 'function',
      tasksFastify: 'function',
      recorded: { status: 'SUCCESS', result: { ok: true } },
    });
    // Nothing on stderr: no error, and no warning a user would have to explain.
    expect(result.stderr).toBe('');
  });

  it('a subpath outside the export map is refused, as for any package with exports', () => {
    writeFileSync(join(app, 'deep.js'), "require('agentcore-task/dist/errors.js');\n");
    const result = run('deep.js');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
