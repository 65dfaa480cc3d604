import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, api, downloadFile } from './api.js';
import { Duration, ErrorNote, Id, ProgressBar, type Route, routeHref, StatusBadges, Time, zoneName } from './common.js';
import { useUrlFilters } from './filters.js';
import { type MessageKey, t, tCount } from './i18n/index.js';
import { useLive } from './live.js';
import { lang } from './prefs.js';
import { apiScope, canViewAll, scopeOf, scopeParam } from './session.js';
import { type ListItem, type Page, STATUSES } from './types.js';

/** Filters of `GET executions/` the form edits (plus `scope`: all users or mine), in the order of the form. */
const FILTERS = ['search', 'status', 'module', 'task_name', 'start_date', 'end_date', 'ordering', 'page_size', 'scope'];
const DEFAULTS: Record<string, string> = { ordering: '-created_at', page_size: '10' };
const ORDERINGS: Array<[string, MessageKey]> = [
  ['-created_at', 'order.newest'],
  ['created_at', 'order.oldest'],
  ['-started_at', 'order.started'],
  ['-finished_at', 'order.finished'],
  ['status', 'order.status'],
  ['task_name', 'order.taskName'],
];
/**
 * Columns sorted by a click on their header (the API's `ordering`): a first click sorts in the column's natural
 * direction (newest first for times, A→Z for names and statuses), the next reverses it.
 */
const SORTABLE: Record<string, { field: string; firstDescending: boolean }> = {
  'col.task': { field: 'task_name', firstDescending: false },
  'col.status': { field: 'status', firstDescending: false },
  'col.created': { field: 'created_at', firstDescending: true },
};
/** The most rows one export carries (the server's bound, `EXPORT_MAX_ROWS`). */
const EXPORT_MAX = 100_000;
/** Filters on fields a run never changes: the stream applies them on the server (status changes: not these). */
const STREAM_FILTERS = ['search', 'module', 'task_name', 'start_date', 'end_date', 'created_by'];
const API_FILTERS = [
  'search',
  'status',
  'module',
  'task_name',
  'start_date',
  'end_date',
  'ordering',
  'page_size',
  'created_by',
  'page',
];

function pick(query: URLSearchParams, keys: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of keys) if (query.get(key)) out[key] = query.get(key) ?? undefined;
  return out;
}

let lastList = '#/runs';
/** Where "← All runs" goes: the list as last shown (filters, page and scope), else the list in the given scope. */
export function listHref(query: URLSearchParams): string {
  const scope = scopeParam(scopeOf(query));
  return lastList !== '#/runs' ? lastList : routeHref('/runs', { scope });
}

export function RunList({ route }: { route: Route }): VNode {
  const query = route.query;
  const scope = scopeOf(query);
  const page = Number(query.get('page') ?? '1') || 1;
  const pageSize = Number(query.get('page_size') ?? DEFAULTS.page_size) || 10;
  const listQuery = { ...pick(query, API_FILTERS), ...apiScope(scope) };
  const streamQuery = { ...pick(query, STREAM_FILTERS), ...apiScope(scope) };
  lastList = window.location.hash || '#/runs';

  const { data, error, loading } = useLive<Page<ListItem>>({
    key: JSON.stringify(listQuery),
    load: () => api<Page<ListItem>>('executions/', { query: listQuery }),
    stream: { path: 'executions/stream/', query: streamQuery },
    // Between two reads a visible row shows its newest progress at once; rows and the count come from the reads.
    patch: (current, event) => {
      if (event.event !== 'execution') return current;
      const item = JSON.parse(event.data) as ListItem;
      const index = current.results.findIndex((r) => r.id === item.id);
      if (index < 0) return current;
      const results = current.results.slice();
      results[index] = item;
      return { ...current, results };
    },
  });

  const filters = useUrlFilters('/runs', route, FILTERS, DEFAULTS);
  const pages = data ? Math.max(1, Math.ceil(data.count / pageSize)) : 1;
  const go = (changes: Record<string, string | undefined>) => {
    window.location.hash = routeHref('/runs', { ...pick(query, [...FILTERS, 'created_by', 'page']), ...changes });
  };
  const gone = error?.status === 404;
  const ordering = query.get('ordering') || DEFAULTS.ordering;
  const sortBy = (field: string, firstDescending: boolean) => {
    const current = ordering.replace(/^-/, '');
    const descending = current === field ? !ordering.startsWith('-') : firstDescending;
    const next = `${descending ? '-' : ''}${field}`;
    go({ ordering: next === DEFAULTS.ordering ? undefined : next, page: undefined });
  };
  const { page: _page, page_size: _size, ...exportQuery } = listQuery;

  return html`<main id="main">
    <h1>${t('runs.title')}</h1>
    <${Filters} filters=${filters} />
    ${error && error.status !== 0 && !gone ? html`<${ErrorNote} error=${error.message} />` : null}
    ${gone ? html`<p class="empty">${t('runs.pageGone')} <a href=${routeHref('/runs', { ...pick(query, FILTERS), page: undefined })}>${t('runs.firstPage')}</a></p>` : null}
    <div class="list-head">
      <p class="muted run-count" aria-live="polite" aria-busy=${loading ? 'true' : 'false'} data-count=${data && !gone ? data.count : undefined}>
        ${data && !gone ? tCount('runs.count', data.count) : loading ? t('loading') : ''}
        ${scope === 'all' && canViewAll() ? html` <span class="scope-note">· ${t('scope.allUsers')}</span>` : null}
      </p>
      <${ExportButtons} query=${exportQuery} />
      <p class="muted small">${t('times.in', { zone: zoneName() })}</p>
    </div>
    ${data && !gone && data.results.length === 0 ? html`<p class="empty">${t('runs.none')}</p>` : null}
    ${data && !gone && data.results.length > 0 ? html`<${RunTable} items=${data.results} scope=${scopeParam(scope)} ordering=${ordering} onSort=${sortBy} />` : null}
    ${
      data && !gone && data.count > pageSize
        ? html`<nav class="pager" aria-label=${t('pager.label')}>
            <button type="button" disabled=${page <= 1} onClick=${() => go({ page: page - 1 > 1 ? String(page - 1) : undefined })}>${t('pager.previous')}</button>
            <span>${t('pager.pageOf', { page, pages })}</span>
            <button type="button" disabled=${page >= pages} onClick=${() => go({ page: String(page + 1) })}>${t('pager.next')}</button>
          </nav>`
        : null
    }
  </main>`;
}

/** The filter form. "All users" follows the form's own state, so a re-render before the URL changes cannot undo a click. */
function Filters({ filters }: { filters: ReturnType<typeof useUrlFilters> }): VNode {
  const { values, set, flush } = filters;
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
  return html`<form
    class="filters"
    role="search"
    aria-label=${t('filters.runs')}
    onSubmit=${(e: Event) => {
      e.preventDefault();
      flush();
    }}
  >
    <div class="field grow"><label for="f-search">${t('filters.search')}</label>
      <input id="f-search" type="search" placeholder=${t('filters.searchPlaceholder')} ...${text('search')} /></div>
    <div class="field"><label for="f-status">${t('filters.status')}</label>
      <select id="f-status" ...${choice('status')}>
        <option value="">${t('filters.anyStatus')}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${t(`status.${s}`)}</option>`)}
      </select></div>
    <div class="field"><label for="f-module">${t('filters.module')}</label><input id="f-module" ...${text('module')} /></div>
    <div class="field"><label for="f-task-name">${t('filters.taskName')}</label><input id="f-task-name" ...${text('task_name')} /></div>
    <div class="field"><label for="f-start">${t('filters.from')}</label><input id="f-start" type="date" ...${choice('start_date')} /></div>
    <div class="field"><label for="f-end">${t('filters.to')}</label><input id="f-end" type="date" ...${choice('end_date')} /></div>
    <div class="field"><label for="f-ordering">${t('filters.order')}</label>
      <select id="f-ordering" ...${choice('ordering')}>
        ${ORDERINGS.map(([v, label]) => html`<option value=${v}>${t(label)}</option>`)}
      </select></div>
    <div class="field"><label for="f-page-size">${t('filters.perPage')}</label>
      <select id="f-page-size" ...${choice('page_size')}>
        ${['10', '25', '50', '100'].map((n) => html`<option value=${n}>${n}</option>`)}
      </select></div>
    ${
      canViewAll()
        ? html`<div class="field check-field"><label class="check"><input type="checkbox" name="all_users"
            checked=${values.scope !== 'mine'}
            onChange=${(e: Event) => set('scope', (e.target as HTMLInputElement).checked ? '' : 'mine')} />
            ${t('scope.allUsers')}</label></div>`
        : null
    }
    <div class="field actions">
      <a class="button" href=${routeHref('/runs', { scope: values.scope || undefined })}>${t('filters.reset')}</a>
    </div>
  </form>`;
}

/** The Export buttons: the runs of the current filters, ordering and scope (no paging) as a CSV or JSON download. */
function ExportButtons({ query }: { query: Record<string, string | undefined> }): VNode {
  const [state, setState] = useState<{ busy: boolean; message: string; failed: boolean }>({
    busy: false,
    message: '',
    failed: false,
  });
  const run = async (format: 'csv' | 'json') => {
    setState({ busy: true, message: t('export.busy'), failed: false });
    try {
      const name = await downloadFile('executions/export/', { ...query, format });
      setState({ busy: false, message: t('export.done', { name }), failed: false });
    } catch (error) {
      const message =
        error instanceof ApiError && error.status === 0 ? t('error.unreachableShort') : (error as Error).message;
      setState({ busy: false, message: t('export.failed', { message }), failed: true });
    }
  };
  const max = EXPORT_MAX.toLocaleString(lang.get());
  return html`<div class="export" role="group" aria-label=${t('export.label', { max })} title=${t('export.label', { max })}>
    <button type="button" class="small-button" disabled=${state.busy} onClick=${() => run('csv')}>${t('export.csv')}</button>
    <button type="button" class="small-button" disabled=${state.busy} onClick=${() => run('json')}>${t('export.json')}</button>
    <span class=${`export-status small ${state.failed ? 'export-failed' : 'muted'}`} role="status">${state.message}</span>
  </div>`;
}

/** A column header; a sortable one holds a button that sorts by it, and says how the list is sorted (`aria-sort`). */
function HeaderCell({
  label,
  ordering,
  onSort,
}: {
  label: MessageKey;
  ordering: string;
  onSort: (field: string, firstDescending: boolean) => void;
}): VNode {
  const sortable = SORTABLE[label];
  if (!sortable) return html`<th scope="col">${t(label)}</th>`;
  const active = ordering.replace(/^-/, '') === sortable.field;
  const descending = ordering.startsWith('-');
  const sort = active ? (descending ? 'descending' : 'ascending') : undefined;
  return html`<th scope="col" aria-sort=${sort} class="sortable">
    <button type="button" class=${`sort${active ? ' sort-active' : ''}`} data-sort=${sortable.field}
      title=${t('sort.by', { column: t(label) })} onClick=${() => onSort(sortable.field, sortable.firstDescending)}>
      ${t(label)}<span class="sort-mark" aria-hidden="true">${active ? (descending ? '▼' : '▲') : '↕'}</span>
    </button>
  </th>`;
}

const COLUMNS: MessageKey[] = [
  'col.task',
  'col.module',
  'col.status',
  'col.progress',
  'col.created',
  'col.duration',
  'col.user',
];

function RunTable({
  items,
  scope,
  ordering,
  onSort,
}: {
  items: ListItem[];
  scope: string | undefined;
  ordering: string;
  onSort: (field: string, firstDescending: boolean) => void;
}): VNode {
  return html`<table class="runs">
    <caption class="sr-only">${t('runs.title')}</caption>
    <thead><tr>${COLUMNS.map((c) => html`<${HeaderCell} label=${c} ordering=${ordering} onSort=${onSort} />`)}</tr></thead>
    <tbody>
      ${items.map(
        (item) => html`<tr key=${item.id} data-run-id=${item.id} data-status=${item.status}>
          <td data-label=${t('col.task')} class="task-cell"><div class="cell">
            <a href=${routeHref(`/runs/${item.id}`, { scope })} class="task-link" title=${item.task_name}>${item.task_name || t('run.unnamed')}</a>
            <${Id} value=${item.task_id} className="muted small" /></div></td>
          <td data-label=${t('col.module')}><span class="cell">${item.module || '—'}</span></td>
          <td data-label=${t('col.status')}><${StatusBadges} item=${item} /></td>
          <td data-label=${t('col.progress')} class="progress-cell">
            <${ProgressBar} item=${item} label=${t('progress.of', { name: item.task_name })} /></td>
          <td data-label=${t('col.created')}><${Time} value=${item.created_at} /></td>
          <td data-label=${t('col.duration')}><${Duration} item=${item} /></td>
          <td data-label=${t('col.user')}><span class="cell">${item.created_by_username ?? item.created_by_id ?? t('user.system')}</span></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
