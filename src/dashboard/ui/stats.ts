import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorNote, type Route, routeHref } from './common.js';
import type { Counts, Stats } from './types.js';

const KEYS: Array<keyof Counts> = ['pending', 'started', 'success', 'failure', 'retry', 'revoked'];
const PARAMS = ['module', 'task_name', 'start_date', 'end_date', 'granularity', 'my_tasks'];

/** Counts by status, module and task name, and the time series as a bar chart. */
export function StatsView({ route, isAdmin }: { route: Route; isAdmin: boolean }): VNode {
  const query: Record<string, string | undefined> = {};
  for (const p of PARAMS) if (route.query.get(p)) query[p] = route.query.get(p) ?? undefined;
  query.granularity ??= 'month';
  const key = new URLSearchParams(query as Record<string, string>).toString();
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState<Record<string, string>>({});
  useEffect(() => setForm(query as Record<string, string>), [key]);

  useEffect(() => {
    let cancelled = false;
    api<Stats>('executions/stats/', { query })
      .then((s) => {
        if (cancelled) return;
        setStats(s);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!cancelled) setError((e as Error).message);
      });
    return () => {
      cancelled = true;
    };
  }, [key]);

  const bind = (name: string) => ({
    name,
    value: form[name] ?? '',
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });

  return html`<main id="main">
    <h1>Statistics</h1>
    <form class="filters" aria-label="Filter statistics" onSubmit=${(e: Event) => {
      e.preventDefault();
      window.location.hash = routeHref('/stats', form);
    }}>
      <div class="field"><label for="s-module">Module</label><input id="s-module" ...${bind('module')} /></div>
      <div class="field"><label for="s-task">Task name</label><input id="s-task" ...${bind('task_name')} /></div>
      <div class="field"><label for="s-start">From</label><input id="s-start" type="date" ...${bind('start_date')} /></div>
      <div class="field"><label for="s-end">To</label><input id="s-end" type="date" ...${bind('end_date')} /></div>
      <div class="field"><label for="s-granularity">Chart</label>
        <select id="s-granularity" ...${bind('granularity')}>
          <option value="day">One day, by hour</option>
          <option value="month">30 days, by day</option>
          <option value="year">12 months, by month</option>
        </select></div>
      ${
        isAdmin
          ? html`<div class="field check-field"><label class="check"><input type="checkbox"
          checked=${form.my_tasks === 'false'}
          onChange=${(e: Event) => setForm({ ...form, my_tasks: (e.target as HTMLInputElement).checked ? 'false' : '' })} /> All users</label></div>`
          : null
      }
      <div class="field actions"><button type="submit" class="primary">Apply</button></div>
    </form>
    <${ErrorNote} error=${error} />
    ${
      stats
        ? html`
      <ul class="counts" aria-label="Runs by status">
        <li class="count-total"><span class="count-label">Total</span><strong>${stats.total}</strong></li>
        ${KEYS.map(
          (
            k,
          ) => html`<li class=${`count-${k}`}><a href=${routeHref('/runs', { status: k.toUpperCase(), my_tasks: query.my_tasks })}>
            <span class="count-label">${k}</span><strong>${stats[k]}</strong></a></li>`,
        )}
      </ul>
      ${stats.series ? html`<section aria-labelledby="h-series"><h2 id="h-series">Runs over time</h2><${Chart} series=${stats.series} /></section>` : null}
      <div class="stack">
        <section aria-labelledby="h-by-module"><h2 id="h-by-module">By module</h2><${CountTable} rows=${stats.by_module} label="Module" /></section>
        <section aria-labelledby="h-by-task"><h2 id="h-by-task">By task name</h2><${CountTable} rows=${stats.by_task_name} label="Task name" /></section>
      </div>`
        : html`<p class="muted" aria-live="polite">Loading…</p>`
    }
  </main>`;
}

function CountTable({ rows, label }: { rows: Record<string, Counts>; label: string }): VNode {
  const entries = Object.entries(rows).sort((a, b) => b[1].total - a[1].total);
  if (entries.length === 0) return html`<p class="muted">No runs.</p>`;
  return html`<div class="scroll"><table class="counts-table">
    <thead><tr><th scope="col">${label}</th><th scope="col" class="num">Total</th>${KEYS.map((k) => html`<th scope="col" class="num">${k}</th>`)}</tr></thead>
    <tbody>${entries.map(
      ([
        name,
        c,
      ]) => html`<tr><th scope="row" class="name">${name || '—'}</th><td class="num"><strong>${c.total}</strong></td>
        ${KEYS.map((k) => html`<td class=${`num ${c[k] ? `has-${k}` : 'zero'}`}>${c[k]}</td>`)}</tr>`,
    )}</tbody>
  </table></div>`;
}

/** A plain SVG bar chart: no chart library, no external resources. */
function Chart({ series }: { series: Array<{ bucket: string; count: number }> }): VNode {
  const width = 720;
  const height = 220;
  const pad = { top: 12, right: 8, bottom: 28, left: 36 };
  const peak = Math.max(0, ...series.map((p) => p.count));
  // An even top, so the middle grid line is a whole number.
  const max = Math.max(2, Math.ceil(peak / 2) * 2);
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const step = innerW / Math.max(1, series.length);
  const every = Math.ceil(series.length / 8);
  const ticks = [0, max / 2, max];
  const total = series.reduce((n, p) => n + p.count, 0);
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${`${total} runs in ${series.length} buckets, at most ${peak} in one`}>
      ${ticks.map((t) => {
        const y = pad.top + innerH - (t / max) * innerH;
        return html`<g class="tick"><line x1=${pad.left} x2=${width - pad.right} y1=${y} y2=${y} />
          <text x=${pad.left - 6} y=${y + 4} text-anchor="end">${t}</text></g>`;
      })}
      ${series.map((p, i) => {
        const h = (p.count / max) * innerH;
        const x = pad.left + i * step;
        return html`<g class="bar">
          <rect x=${x + step * 0.15} y=${pad.top + innerH - h} width=${Math.max(1, step * 0.7)} height=${Math.max(0, h)} rx="2"><title>${p.bucket}: ${p.count}</title></rect>
          ${i % every === 0 ? html`<text x=${x + step / 2} y=${height - 8} text-anchor="middle">${p.bucket}</text>` : null}
        </g>`;
      })}
    </svg>
  </figure>`;
}
