#!/usr/bin/env node
// Builds the dashboard (src/dashboard/ui) into src/dashboard/assets (committed, so tests and `tsx` runs need no build
// step), then copies the assets to dist/dashboard/assets when dist/ exists (`npm run build`).
//   node scripts/build-dashboard.mjs           build and copy
//   node scripts/build-dashboard.mjs --check   fail if the committed assets are not what the sources build to
//   node scripts/build-dashboard.mjs --copy    only copy (no esbuild needed)
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'src/dashboard/ui');
const assets = join(root, 'src/dashboard/assets');
const dist = join(root, 'dist/dashboard/assets');

async function build(outdir) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false; // installed without dev dependencies: the committed bundle is used as is
  }
  mkdirSync(outdir, { recursive: true });
  const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', target: 'es2020' };
  await esbuild.build({ ...common, entryPoints: [join(ui, 'main.ts')], outfile: join(outdir, 'app.js'), format: 'esm' });
  await esbuild.build({ ...common, entryPoints: [join(ui, 'styles.css')], outfile: join(outdir, 'app.css') });
  cpSync(join(ui, 'index.html'), join(outdir, 'index.html'));
  return true;
}

const args = new Set(process.argv.slice(2));
if (args.has('--check')) {
  const temp = mkdtempSync(join(tmpdir(), 'dashboard-'));
  try {
    if (!(await build(temp))) throw new Error('esbuild is not installed');
    const stale = readdirSync(temp).filter(
      (name) => !existsSync(join(assets, name)) || !readFileSync(join(temp, name)).equals(readFileSync(join(assets, name))),
    );
    if (stale.length > 0) {
      console.error(`dashboard assets are stale (${stale.join(', ')}): run node scripts/build-dashboard.mjs and commit`);
      process.exit(1);
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
} else {
  if (!args.has('--copy')) await build(assets);
  if (existsSync(join(root, 'dist'))) {
    mkdirSync(dist, { recursive: true });
    cpSync(assets, dist, { recursive: true });
  }
}
