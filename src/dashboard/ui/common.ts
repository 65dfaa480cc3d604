import { html } from 'htm/preact';
import type { VNode } from 'preact';
import type { ListItem, Status } from './types.js';

/** The hash route: `#/runs?status=STARTED`, `#/runs/12`, `#/stats`, `#/locks`. */
export interface Route {
  view: string;
  id: string | undefined;
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const [, view = 'runs', id] = path.split('/');
  return { view: view || 'runs', id, query: new URLSearchParams(search) };
}

export function routeHref(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function StatusBadge({ status }: { status: Status }): VNode {
  return html`<span class=${`badge badge-${status.toLowerCase()}`}>${status}</span>`;
}

/** Progress from the run's metadata (`progress_percent`, `progress_message`, `progress_step`). */
export function progressOf(
  item: Pick<ListItem, 'metadata'>,
): { percent: number; message: string; step: string } | null {
  const m = item.metadata ?? {};
  const raw = m.progress_percent;
  if (raw === undefined || raw === null) return null;
  const n = Number(raw);
  return {
    percent: Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 0,
    message: typeof m.progress_message === 'string' ? m.progress_message : '',
    step: m.progress_step === undefined || m.progress_step === null ? '' : String(m.progress_step),
  };
}

export function ProgressBar({ item, label }: { item: ListItem; label: string }): VNode | null {
  const progress = progressOf(item);
  if (!progress) return null;
  const text = [progress.step, progress.message].filter(Boolean).join(' · ');
  return html`<div class="progress">
    <div
      class=${`progress-track progress-${item.status.toLowerCase()}`}
      role="progressbar"
      aria-label=${label}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${String(progress.percent)}
      aria-valuetext=${`${progress.percent}%${text ? ` ${text}` : ''}`}
    >
      <div class="progress-fill" style=${{ width: `${progress.percent}%` }}></div>
    </div>
    <div class="progress-text"><span class="progress-percent">${progress.percent}%</span> ${text}</div>
  </div>`;
}

export function Json({ value, label }: { value: unknown; label: string }): VNode {
  const text = value === undefined ? '' : JSON.stringify(value, null, 2);
  return html`<pre class="code" aria-label=${`${label} (JSON)`} tabindex="0">${text}</pre>`;
}

export function ErrorNote({ error }: { error: string | null }): VNode | null {
  if (!error) return null;
  return html`<p class="alert" role="alert">${error}</p>`;
}
