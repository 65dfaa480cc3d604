import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { api } from './api.js';
import { ErrorNote, type Route, routeHref, shownTimeZone, zoneName } from './common.js';
import { useUrlFilters } from './filters.js';
import { t, tCount } from './i18n/index.js';
import { useLive } from './live.js';
import { lang, zone } from './prefs.js';
import { apiScope, canViewAll, scopeOf, scopeParam } from './session.js';
import type { Counts, Stats } from './types.js';

const KEYS: Array<keyof Counts> = ['pending', 'started', 'success', 'failure', 'retry', 'revoked'];
const FILTERS = ['module', 'task_name', 'start_date', 'end_date', 'granularity', 'scope'];
const DEFAULTS: Record<string, string> = { granularity: 'month' };
/** Stats are a heavier query than a page of runs: during a burst, at most one read a second. */
const STATS_READ_INTERVAL_MS = 1000;

/** Counts by status, module and task name, and the time series as a bar chart; live. */
export function StatsView({ route }: { route: Route }): VNode {
  const scope = scopeOf(route.query);
  const query: Record<string, string | undefined> = { granularity: DEFAULTS.granularity, ...apiScope(scope) };
  for (const p of ['module', 'task_name', 'start_date', 'end_date', 'granularity'])
    if (route.query.get(p)) query[p] = route.query.get(p) ?? undefined;
  const streamQuery: Record<string, string | undefined> = { ...apiScope(scope) };
  for (const p of ['module', 'task_name', 'start_date', 'end_date'])
    if (route.query.get(p)) streamQuery[p] = route.query.get(p) ?? undefined;
  const { data: stats, error } = useLive<Stats>({
    key: JSON.stringify(query),
    load: () => api<Stats>('executions/stats/', { query }),
    stream: { path: 'executions/stream/', query: streamQuery },
    minIntervalMs: STATS_READ_INTERVAL_MS,
  });
  const { values, set, flush } = useUrlFilters('/stats', route, FILTERS, DEFAULTS);
  const text = (name: string) => ({
    name,
    value: values[name] ?? '',
    onInput: (e: Event) => set(name, (e.target as HTMLInputElement).value, true),
  });
  const choice = (name: string) => ({
    name,
    value: values[name] ?? '',
    onChange: (e: Event) => set(name, (e.target as HTMLInputElement).value),
  });

  return html`<main id="main">
    <h1>${t('stats.title')}</h1>
    <form class="filters" aria-label=${t('filters.stats')} onSubmit=${(e: Event) => {
      e.preventDefault();
      flush();
    }}>
      <div class="field"><label for="s-module">${t('filters.module')}</label><input id="s-module" ...${text('module')} /></div>
      <div class="field"><label for="s-task">${t('filters.taskName')}</label><input id="s-task" ...${text('task_name')} /></div>
      <div class="field"><label for="s-start">${t('filters.from')}</label><input id="s-start" type="date" ...${choice('start_date')} /></div>
      <div class="field"><label for="s-end">${t('filters.to')}</label><input id="s-end" type="date" ...${choice('end_date')} /></div>
      <div class="field"><label for="s-granularity">${t('stats.chart')}</label>
        <select id="s-granularity" ...${choice('granularity')}>
          <option value="day">${t('stats.byHour')}</option>
          <option value="month">${t('stats.byDay')}</option>
          <option value="year">${t('stats.byMonth')}</option>
        </select></div>
      ${
        canViewAll()
          ? html`<div class="field check-field"><label class="check"><input type="checkbox" name="all_users"
          checked=${scope === 'all'}
          onChange=${(e: Event) => set('scope', (e.target as HTMLInputElement).checked ? '' : 'mine')} /> ${t('scope.allUsers')}</label></div>`
          : null
      }
    </form>
    ${error && error.status !== 0 ? html`<${ErrorNote} error=${error.message} />` : null}
    ${
      stats
        ? html`
      <ul class="counts" aria-label=${t('stats.byStatus')}>
        <li class="count-total"><span class="count-label">${t('stats.total')}</span><strong>${stats.total}</strong></li>
        ${KEYS.map(
          (
            k,
          ) => html`<li class=${`count-${k}`}><a href=${routeHref('/runs', { status: k.toUpperCase(), scope: scopeParam(scope) })}>
            <span class="count-label">${t(`status.${k.toUpperCase() as 'PENDING'}`)}</span><strong>${stats[k]}</strong></a></li>`,
        )}
      </ul>
      ${stats.series ? html`<section aria-labelledby="h-series"><h2 id="h-series">${t('stats.overTime')}</h2><${Chart} series=${stats.series} granularity=${query.granularity ?? 'month'} /></section>` : null}
      <div class="stack">
        <section aria-labelledby="h-by-module"><h2 id="h-by-module">${t('stats.byModule')}</h2><${CountTable} rows=${stats.by_module} label=${t('filters.module')} /></section>
        <section aria-labelledby="h-by-task"><h2 id="h-by-task">${t('stats.byTask')}</h2><${CountTable} rows=${stats.by_task_name} label=${t('filters.taskName')} /></section>
      </div>`
        : html`<p class="muted" aria-live="polite">${t('loading')}</p>`
    }
  </main>`;
}

function CountTable({ rows, label }: { rows: Record<string, Counts>; label: string }): VNode {
  const entries = Object.entries(rows).sort((a, b) => b[1].total - a[1].total);
  if (entries.length === 0) return html`<p class="muted">${t('stats.noRuns')}</p>`;
  return html`<div class="scroll"><table class="counts-table">
    <thead><tr><th scope="col">${label}</th><th scope="col" class="num">${t('stats.total')}</th>${KEYS.map((k) => html`<th scope="col" class="num">${t(`status.${k.toUpperCase() as 'PENDING'}`)}</th>`)}</tr></thead>
    <tbody>${entries.map(
      ([
        name,
        c,
      ]) => html`<tr><th scope="row" class="name" title=${name}>${name || '—'}</th><td class="num"><strong>${c.total}</strong></td>
        ${KEYS.map((k) => html`<td class=${`num ${c[k] ? `has-${k}` : 'zero'}`}>${c[k]}</td>`)}</tr>`,
    )}</tbody>
  </table></div>`;
}

/**
 * The series' buckets are UTC (`HH:00` hours of one UTC day, `YYYY-MM-DD` days, `YYYY-MM` months). Hours are exact in
 * any zone, so they are labelled in the zone shown; days and months cannot be re-cut from UTC counts, so they stay UTC
 * days and the chart says so.
 */
export function bucketLabels(
  series: Array<{ bucket: string }>,
  granularity: string,
  day: string | undefined,
): { labels: string[]; zone: string } {
  if (granularity !== 'day' || zone.get() === 'utc') return { labels: series.map((p) => p.bucket), zone: 'UTC' };
  const base = day ?? new Date().toISOString().slice(0, 10);
  const hour = new Intl.DateTimeFormat(lang.get(), {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: shownTimeZone(),
  });
  const labels = series.map((p) => {
    const at = new Date(`${base}T${p.bucket}:00.000Z`);
    return Number.isNaN(at.getTime()) ? p.bucket : hour.format(at);
  });
  return { labels, zone: zoneName(new Date(`${base}T12:00:00.000Z`)) };
}

/** A plain SVG bar chart: no chart library, no external resources. */
function Chart({
  series,
  granularity,
}: {
  series: Array<{ bucket: string; count: number }>;
  granularity: string;
}): VNode {
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
  const day = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('start_date') ?? undefined;
  const { labels, zone: bucketZone } = bucketLabels(series, granularity, day);
  const unit = granularity === 'day' ? 'chart.hoursIn' : granularity === 'year' ? 'chart.monthsIn' : 'chart.daysIn';
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${t('chart.summary', { runs: tCount('chart.summary.runs', total), buckets: series.length, peak })}>
      ${ticks.map((v) => {
        const y = pad.top + innerH - (v / max) * innerH;
        return html`<g class="tick"><line x1=${pad.left} x2=${width - pad.right} y1=${y} y2=${y} />
          <text x=${pad.left - 6} y=${y + 4} text-anchor="end">${v}</text></g>`;
      })}
      ${series.map((p, i) => {
        const h = (p.count / max) * innerH;
        const x = pad.left + i * step;
        return html`<g class="bar">
          <rect x=${x + step * 0.15} y=${pad.top + innerH - h} width=${Math.max(1, step * 0.7)} height=${Math.max(0, h)} rx="2"><title>${labels[i]} ${bucketZone}: ${p.count}</title></rect>
          ${i % every === 0 ? html`<text x=${x + step / 2} y=${height - 8} text-anchor="middle">${labels[i]}</text>` : null}
        </g>`;
      })}
    </svg>
    <figcaption class="muted small">${t(unit, { zone: bucketZone })}</figcaption>
  </figure>`;
}
