import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, openStream } from './api.js';
import { ErrorNote, formatDate, formatDuration, ProgressBar, type Route, routeHref, StatusBadge } from './common.js';
import { type ListItem, type Page, STATUSES } from './types.js';

/** List query parameters the form edits (those of `GET executions/`), in the order of the form. */
const FILTERS = [
  'search',
  'status',
  'module',
  'task_name',
  'start_date',
  'end_date',
  'ordering',
  'page_size',
  'my_tasks',
];
const ORDERINGS: Array<[string, string]> = [
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['-started_at', 'Recently started'],
  ['-finished_at', 'Recently finished'],
  ['status', 'Status'],
  ['task_name', 'Task name'],
];
/** Filters on fields a run never changes: the stream can apply them on the server. `status` changes, so the page applies it. */
const STREAM_FILTERS = ['search', 'module', 'task_name', 'start_date', 'end_date', 'my_tasks', 'created_by'];

export type LiveState = 'live' | 'reconnecting' | 'closed';

function pick(query: URLSearchParams, keys: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of keys) if (query.get(key)) out[key] = query.get(key) ?? undefined;
  return out;
}

export function RunList({
  route,
  isAdmin,
  onLive,
}: {
  route: Route;
  isAdmin: boolean;
  onLive: (s: LiveState) => void;
}): VNode {
  const query = route.query;
  const listQuery = { ...pick(query, [...FILTERS, 'created_by', 'page']) };
  const key = new URLSearchParams(listQuery as Record<string, string>).toString();
  const streamQuery = pick(query, STREAM_FILTERS);
  const streamKey = new URLSearchParams(streamQuery as Record<string, string>).toString();
  const page = Number(query.get('page') ?? '1') || 1;
  const pageSize = Number(query.get('page_size') ?? '10') || 10;
  const ordering = query.get('ordering') ?? '-created_at';
  const status = query.get('status') ?? '';

  const [data, setData] = useState<Page<ListItem> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    api<Page<ListItem>>('executions/', { query: listQuery })
      .then((result) => {
        if (cancelled) return;
        setData(result);
        setError(null);
      })
      .catch((e: unknown) => {
        if (cancelled) return;
        setData(null);
        setError(e instanceof ApiError && e.status === 404 ? 'No runs on this page.' : (e as Error).message);
      })
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [key]);

  useEffect(() => {
    const stop = openStream(
      'executions/stream/',
      streamQuery,
      (event) => {
        if (event.event !== 'execution') return;
        const item = JSON.parse(event.data) as ListItem;
        setData((current) => {
          if (!current) return current;
          const index = current.results.findIndex((r) => r.id === item.id);
          if (index >= 0) {
            const results = current.results.slice();
            results[index] = item;
            return { ...current, results };
          }
          // A new run appears at the top of the first page when the list is newest-first and it passes the filters.
          if (page !== 1 || ordering !== '-created_at' || (status && item.status !== status)) return current;
          return { ...current, count: current.count + 1, results: [item, ...current.results].slice(0, pageSize) };
        });
      },
      onLive,
    );
    return () => {
      stop();
      onLive('closed');
    };
  }, [streamKey, page, pageSize, ordering, status]);

  const pages = data ? Math.max(1, Math.ceil(data.count / pageSize)) : 1;
  const go = (changes: Record<string, string | undefined>) => {
    window.location.hash = routeHref('/runs', { ...pick(query, [...FILTERS, 'created_by', 'page']), ...changes });
  };

  return html`<main id="main">
    <h1>Task runs</h1>
    <${Filters} key=${key} query=${query} isAdmin=${isAdmin} onApply=${(values: Record<string, string>) => go({ ...values, page: undefined })} />
    <${ErrorNote} error=${error} />
    <div class="list-head">
      <p class="muted" aria-live="polite">${loading ? 'Loading…' : data ? `${data.count} run${data.count === 1 ? '' : 's'}` : ''}</p>
    </div>
    ${data && data.results.length === 0 ? html`<p class="empty">No runs match these filters.</p>` : null}
    ${data && data.results.length > 0 ? html`<${RunTable} items=${data.results} />` : null}
    ${
      data && data.count > pageSize
        ? html`<nav class="pager" aria-label="Pages">
            <button type="button" disabled=${page <= 1} onClick=${() => go({ page: String(page - 1) })}>Previous</button>
            <span>Page ${page} of ${pages}</span>
            <button type="button" disabled=${page >= pages} onClick=${() => go({ page: String(page + 1) })}>Next</button>
          </nav>`
        : null
    }
  </main>`;
}

function Filters({
  query,
  isAdmin,
  onApply,
}: {
  query: URLSearchParams;
  isAdmin: boolean;
  onApply: (v: Record<string, string>) => void;
}): VNode {
  // Controlled by local state so that live updates re-rendering the page never wipe what the user is typing;
  // the parent remounts this form (key) when the route changes.
  const [values, setValues] = useState<Record<string, string>>(() => {
    const v: Record<string, string> = { ordering: '-created_at', page_size: '10' };
    for (const name of FILTERS) if (query.get(name)) v[name] = query.get(name) ?? '';
    return v;
  });
  const bind = (name: string) => ({
    name,
    value: values[name] ?? '',
    onInput: (e: Event) => setValues({ ...values, [name]: (e.target as HTMLInputElement).value }),
  });
  return html`<form
    class="filters"
    role="search"
    aria-label="Filter runs"
    onSubmit=${(e: Event) => {
      e.preventDefault();
      const out: Record<string, string> = {};
      for (const name of FILTERS) if (values[name]) out[name] = values[name];
      if (out.ordering === '-created_at') delete out.ordering;
      if (out.page_size === '10') delete out.page_size;
      onApply(out);
    }}
  >
    <div class="field grow"><label for="f-search">Search</label>
      <input id="f-search" type="search" placeholder="Task name or id" ...${bind('search')} /></div>
    <div class="field"><label for="f-status">Status</label>
      <select id="f-status" ...${bind('status')}>
        <option value="">Any status</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></div>
    <div class="field"><label for="f-module">Module</label><input id="f-module" ...${bind('module')} /></div>
    <div class="field"><label for="f-task-name">Task name</label><input id="f-task-name" ...${bind('task_name')} /></div>
    <div class="field"><label for="f-start">From</label><input id="f-start" type="date" ...${bind('start_date')} /></div>
    <div class="field"><label for="f-end">To</label><input id="f-end" type="date" ...${bind('end_date')} /></div>
    <div class="field"><label for="f-ordering">Order</label>
      <select id="f-ordering" ...${bind('ordering')}>
        ${ORDERINGS.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
      </select></div>
    <div class="field"><label for="f-page-size">Per page</label>
      <select id="f-page-size" ...${bind('page_size')}>
        ${['10', '25', '50', '100'].map((n) => html`<option value=${n}>${n}</option>`)}
      </select></div>
    ${
      isAdmin
        ? html`<div class="field check-field"><label class="check"><input type="checkbox" name="all_users"
            checked=${values.my_tasks === 'false'}
            onChange=${(e: Event) => setValues({ ...values, my_tasks: (e.target as HTMLInputElement).checked ? 'false' : '' })} />
            All users</label></div>`
        : null
    }
    <div class="field actions">
      <button type="submit" class="primary">Apply</button>
      <a class="button" href="#/runs">Reset</a>
    </div>
  </form>`;
}

function RunTable({ items }: { items: ListItem[] }): VNode {
  return html`<table class="runs">
    <caption class="sr-only">Task runs</caption>
    <thead><tr><th scope="col">Task</th><th scope="col">Module</th><th scope="col">Status</th><th scope="col">Progress</th>
      <th scope="col">Created</th><th scope="col">Duration</th><th scope="col">User</th></tr></thead>
    <tbody>
      ${items.map(
        (item) => html`<tr key=${item.id} data-run-id=${item.id} data-status=${item.status}>
          <td data-label="Task"><div><a href=${`#/runs/${item.id}`} class="task-link">${item.task_name || '(unnamed)'}</a>
            <div class="muted mono small">${item.task_id}</div></div></td>
          <td data-label="Module">${item.module || '—'}</td>
          <td data-label="Status"><${StatusBadge} status=${item.status} /></td>
          <td data-label="Progress" class="progress-cell">
            ${html`<${ProgressBar} item=${item} label=${`Progress of ${item.task_name}`} />`}</td>
          <td data-label="Created"><time datetime=${item.created_at}>${formatDate(item.created_at)}</time></td>
          <td data-label="Duration">${formatDuration(item.duration)}</td>
          <td data-label="User">${item.created_by_username ?? item.created_by_id ?? 'system'}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}
