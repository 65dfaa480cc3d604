/**
 * Draws part 3's size curve (p95 against rows, both on log scales, one line per request shape at 16 connections) as
 * an SVG from bench/results.json: `npx tsx bench/support/curve-svg.ts [results.json] [out.svg]`. No dependencies: the
 * SVG is written by hand, so the picture in docs/PERFORMANCE.md can be redrawn from any run.
 */
import { readFileSync, writeFileSync } from 'node:fs';

type Curve = Record<string, Record<string, { p50: number; p95: number; perSecond: number }>>;

const [input = new URL('../results.json', import.meta.url).pathname, output = 'docs/images/size-curve.svg'] =
  process.argv.slice(2);
const results = JSON.parse(readFileSync(input, 'utf8'));
const curve: Curve = results.details?.readPath?.curve;
if (!curve) throw new Error(`${input} has no part 3 curve (details.readPath.curve): run npm run bench -- --only 3`);

const W = 760;
const H = 440;
const M = { left: 64, right: 250, top: 36, bottom: 52 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const series = Object.entries(curve)
  .filter(([key]) => key.endsWith('@16'))
  .map(([key, bySize]) => ({
    name: key.replace(/ @16$/, ''),
    points: Object.entries(bySize)
      .map(([rows, v]) => ({ rows: Number(rows), p95: v.p95 }))
      .sort((a, b) => a.rows - b.rows),
  }));
const all = series.flatMap((s) => s.points);
const log = Math.log10;
const [xMin, xMax] = [Math.min(...all.map((p) => p.rows)), Math.max(...all.map((p) => p.rows))];
const yMin = 10 ** Math.floor(log(Math.max(0.1, Math.min(...all.map((p) => p.p95)))));
const yMax = 10 ** Math.ceil(log(Math.max(...all.map((p) => p.p95), 20)));
const x = (rows: number) =>
  M.left + (xMax === xMin ? 0.5 : (log(rows) - log(xMin)) / (log(xMax) - log(xMin))) * (W - M.left - M.right);
const y = (ms: number) => H - M.bottom - ((log(ms) - log(yMin)) / (log(yMax) - log(yMin))) * (H - M.top - M.bottom);
const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

const parts: string[] = [];
parts.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="#fff"/>`,
  `<text x="${M.left}" y="20" font-size="14" font-weight="bold">p95 latency against rows, 16 connections (PostgreSQL, log scales)</text>`,
);
for (let e = log(yMin); e <= log(yMax); e++) {
  const v = 10 ** e;
  parts.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
    `<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 1 ? v : v.toFixed(1)} ms</text>`,
  );
}
parts.push(
  `<line x1="${M.left}" x2="${W - M.right}" y1="${y(20)}" y2="${y(20)}" stroke="#999" stroke-dasharray="4 3"/>`,
  `<text x="${W - M.right - 4}" y="${y(20) - 4}" text-anchor="end" fill="#666">20 ms goal (staff list and stats all)</text>`,
);
const sizes = [...new Set(all.map((p) => p.rows))].sort((a, b) => a - b);
for (const rows of sizes) {
  parts.push(
    `<line x1="${x(rows)}" x2="${x(rows)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`,
    `<text x="${x(rows)}" y="${H - M.bottom + 18}" text-anchor="middle">${rows.toLocaleString('en')}</text>`,
  );
}
parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">runs in the table</text>`);
series.forEach((s, i) => {
  const color = COLORS[i % COLORS.length];
  const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${x(p.rows).toFixed(1)},${y(p.p95).toFixed(1)}`).join(' ');
  parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
  for (const p of s.points)
    parts.push(`<circle cx="${x(p.rows).toFixed(1)}" cy="${y(p.p95).toFixed(1)}" r="3" fill="${color}"/>`);
  const ly = M.top + 10 + i * 20;
  parts.push(
    `<line x1="${W - M.right + 14}" x2="${W - M.right + 34}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    `<text x="${W - M.right + 40}" y="${ly + 4}">${esc(s.name)}</text>`,
  );
});
parts.push('</svg>');
writeFileSync(output, `${parts.join('\n')}\n`);
console.log(`wrote ${output} (${series.length} lines, sizes ${sizes.join(', ')})`);
