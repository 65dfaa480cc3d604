import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { api } from './api.js';
import { ErrorNote, formatDuration, type Route, routeHref, shownTimeZone, zoneName } from './common.js';
import { useUrlFilters } from './filters.js';
import { t, tCount } from './i18n/index.js';
import { useLive } from './live.js';
import { lang, zone } from './prefs.js';
import { apiScope, canViewAll, scopeOf, scopeParam } from './session.js';
import type { Counts, Stats } from './types.js';

type DurationFigures = NonNullable<Stats['duration_by_task_name']>[string];

const KEYS: Array<Exclude<keyof Counts, 'total'>> = ['pending', 'started', 'success', 'failure', 'retry', 'revoked'];
/** Stacking order of the chart, bottom up: outcomes first, then what is still under way. */
const STACK: Array<Exclude<keyof Counts, 'total'>> = ['success', 'failure', 'revoked', 'retry', 'started', 'pending'];
/** The server's sample size for percentiles on MySQL/MariaDB and SQLite (`DURATION_SAMPLE_SIZE`). */
const DURATION_SAMPLE = 10_000;
const FILTERS = ['module', 'task_name', 'start_date', 'end_date', 'granularity', 'scope'];
const DEFAULTS: Record<string, string> = { granularity: 'month' };
/** Stats are a heavier query than a page of runs: during a burst, at most one read a second. */
const STATS_READ_INTERVAL_MS = 1000;
/**
 * Run time percentiles read the runs themselves (the counts may come from the aggregates), so a live view asks for
 * them at most this often; reads in between keep the last figures.
 */
const DURATIONS_READ_INTERVAL_MS = 10_000;
let lastDurations: { key: string; at: number; value: Stats['duration_by_task_name'] } | undefined;

/** The stats of `query`, with the run time percentiles read again only when stale or for other filters. */
async function loadStats(query: Record<string, string | undefined>): Promise<Stats> {
  const key = JSON.stringify(query);
  const cached = lastDurations?.key === key && Date.now() - lastDurations.at < DURATIONS_READ_INTERVAL_MS;
  const stats = await api<Stats>('executions/stats/', { query: cached ? query : { ...query, durations: 'true' } });
  if (cached) stats.duration_by_task_name = lastDurations?.value;
  else lastDurations = { key, at: Date.now(), value: stats.duration_by_task_name };
  return stats;
}

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
    load: () => loadStats(query),
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
          checked=${values.scope !== 'mine'}
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
      ${stats.series ? html`<section aria-labelledby="h-series"><h2 id="h-series">${t('stats.overTime')}</h2><${Chart} series=${stacked(stats)} granularity=${query.granularity ?? 'month'} /></section>` : null}
      <div class="stack">
        <section aria-labelledby="h-by-module"><h2 id="h-by-module">${t('stats.byModule')}</h2><${CountTable} rows=${stats.by_module} label=${t('filters.module')} /></section>
        <section aria-labelledby="h-by-task"><h2 id="h-by-task">${t('stats.byTask')}</h2><${CountTable} rows=${stats.by_task_name} label=${t('filters.taskName')} /></section>
      </div>
      ${stats.duration_by_task_name ? html`<section aria-labelledby="h-durations"><h2 id="h-durations">${t('stats.durations')}</h2><${DurationTable} rows=${stats.duration_by_task_name} /></section>` : null}`
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

/** One bucket of the chart: its counts by status (a server without `series_by_status`: the total only). */
interface ChartPoint {
  bucket: string;
  counts: Counts;
}

/** The chart's points: `series_by_status`, or `series` alone (older servers) as one unnamed stack. */
function stacked(stats: Stats): ChartPoint[] {
  if (stats.series_by_status) return stats.series_by_status;
  return (stats.series ?? []).map((p) => ({
    bucket: p.bucket,
    counts: { total: p.count, pending: 0, started: 0, success: 0, failure: 0, retry: 0, revoked: 0 },
  }));
}

/**
 * A plain SVG bar chart stacked by status, with a legend and the same figures as a table (for screen readers and for
 * reading exact numbers): no chart library, no external resources.
 */
function Chart({ series, granularity }: { series: ChartPoint[]; granularity: string }): VNode {
  const width = 720;
  const height = 220;
  const pad = { top: 12, right: 8, bottom: 28, left: 36 };
  const peak = Math.max(0, ...series.map((p) => p.counts.total));
  // An even top, so the middle grid line is a whole number.
  const max = Math.max(2, Math.ceil(peak / 2) * 2);
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const step = innerW / Math.max(1, series.length);
  const every = Math.ceil(series.length / 8);
  const ticks = [0, max / 2, max];
  const total = series.reduce((n, p) => n + p.counts.total, 0);
  const day = new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('start_date') ?? undefined;
  const { labels, zone: bucketZone } = bucketLabels(series, granularity, day);
  const unit = granularity === 'day' ? 'chart.hoursIn' : granularity === 'year' ? 'chart.monthsIn' : 'chart.daysIn';
  const statusName = (k: string) => t(`status.${k.toUpperCase() as 'PENDING'}`);
  const inChart = STACK.filter((k) => series.some((p) => p.counts[k] > 0));
  const sums = Object.fromEntries(STACK.map((k) => [k, series.reduce((n, p) => n + p.counts[k], 0)]));
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${t('chart.summary', { runs: tCount('chart.summary.runs', total), buckets: series.length, peak })}>
      ${ticks.map((v) => {
        const y = pad.top + innerH - (v / max) * innerH;
        return html`<g class="tick"><line x1=${pad.left} x2=${width - pad.right} y1=${y} y2=${y} />
          <text x=${pad.left - 6} y=${y + 4} text-anchor="end">${v}</text></g>`;
      })}
      ${series.map((p, i) => {
        const x = pad.left + i * step;
        const parts = STACK.filter((k) => p.counts[k] > 0);
        const known = parts.reduce((n, k) => n + p.counts[k], 0);
        let base = pad.top + innerH;
        const segments = parts.map((k) => {
          const h = (p.counts[k] / max) * innerH;
          base -= h;
          return html`<rect class=${`seg seg-${k}`} data-status=${k} data-count=${p.counts[k]} x=${x + step * 0.15} y=${base} width=${Math.max(1, step * 0.7)} height=${Math.max(0, h)}><title>${labels[i]} ${bucketZone}: ${statusName(k)} ${p.counts[k]}</title></rect>`;
        });
        // A server without counts by status: one plain bar of the total.
        if (known < p.counts.total) {
          const h = ((p.counts.total - known) / max) * innerH;
          base -= h;
          segments.push(
            html`<rect class="seg seg-total" x=${x + step * 0.15} y=${base} width=${Math.max(1, step * 0.7)} height=${Math.max(0, h)}><title>${labels[i]} ${bucketZone}: ${p.counts.total}</title></rect>`,
          );
        }
        return html`<g class="bar" data-bucket=${p.bucket} data-total=${p.counts.total}>
          ${segments}
          ${i % every === 0 ? html`<text x=${x + step / 2} y=${height - 8} text-anchor="middle">${labels[i]}</text>` : null}
        </g>`;
      })}
    </svg>
    ${
      inChart.length > 0
        ? html`<ul class="legend" aria-label=${t('chart.legend')}>
            ${inChart.map((k) => html`<li data-status=${k}><span class=${`swatch seg-${k}`} aria-hidden="true"></span>${statusName(k)} <span class="muted">${sums[k]}</span></li>`)}
          </ul>`
        : null
    }
    <figcaption class="muted small">${t(unit, { zone: bucketZone })}</figcaption>
    <details class="chart-table">
      <summary>${t('chart.asTable')}</summary>
      <div class="scroll"><table class="counts-table">
        <thead><tr><th scope="col">${t('chart.bucket', { zone: bucketZone })}</th><th scope="col" class="num">${t('stats.total')}</th>
          ${KEYS.map((k) => html`<th scope="col" class="num">${statusName(k)}</th>`)}</tr></thead>
        <tbody>${series.map(
          (p, i) => html`<tr><th scope="row">${labels[i]}</th><td class="num"><strong>${p.counts.total}</strong></td>
            ${KEYS.map((k) => html`<td class=${`num ${p.counts[k] ? `has-${k}` : 'zero'}`}>${p.counts[k]}</td>`)}</tr>`,
        )}</tbody>
      </table></div>
    </details>
  </figure>`;
}

/** p50 and p95 run time per task name, most runs first; figures over a sample are starred and explained. */
function DurationTable({ rows }: { rows: Record<string, DurationFigures> }): VNode {
  const entries = Object.entries(rows).sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
  if (entries.length === 0) return html`<p class="muted">${t('stats.durations.none')}</p>`;
  const sampled = entries.some(([, d]) => d.sampled);
  const star = (d: DurationFigures) => (d.sampled ? ' *' : '');
  return html`<p class="muted small">${t('stats.durations.note')}</p>
    <div class="scroll"><table class="counts-table durations-table">
      <thead><tr><th scope="col">${t('filters.taskName')}</th><th scope="col" class="num">${t('stats.durations.runs')}</th>
        <th scope="col" class="num">${t('stats.durations.p50')}</th><th scope="col" class="num">${t('stats.durations.p95')}</th></tr></thead>
      <tbody>${entries.map(
        ([name, d]) => html`<tr data-task-name=${name}><th scope="row" class="name" title=${name}>${name || '—'}</th>
          <td class="num">${d.count.toLocaleString(lang.get())}</td>
          <td class="num" data-seconds=${d.p50}>${formatDuration(d.p50)}${star(d)}</td>
          <td class="num" data-seconds=${d.p95}>${formatDuration(d.p95)}${star(d)}</td></tr>`,
      )}</tbody>
    </table></div>
    ${sampled ? html`<p class="muted small">${t('stats.durations.sampled', { n: DURATION_SAMPLE.toLocaleString(lang.get()) })}</p>` : null}`;
}
