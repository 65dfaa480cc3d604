import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { t } from './i18n/index.js';
import { useNow } from './live.js';
import { lang, zone } from './prefs.js';
import type { Detail, ListItem, Status } from './types.js';

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

/** The IANA zone of the times shown: the browser's, or UTC. */
export function shownTimeZone(): string | undefined {
  return zone.get() === 'utc' ? 'UTC' : undefined;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${lang.get()}|${zone.get()}|${JSON.stringify(options)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(lang.get(), { ...options, timeZone: shownTimeZone() });
    formatters.set(key, f);
  }
  return f;
}

/** A date and time with its zone named (`Sep 12, 2024, 19:23:05 GMT+8`, `… UTC`). */
export function formatDate(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return formatter({
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(date);
}

/** The short name of the zone shown (`UTC`, `GMT+8`, `PDT`), for labels. */
export function zoneName(at = new Date()): string {
  const part = formatter({ timeZoneName: 'short', hour: 'numeric' })
    .formatToParts(at)
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? (zone.get() === 'utc' ? 'UTC' : '');
}

/** `<time>` with the machine value, the zone named in the text, and the other zone on hover. */
export function Time({ value }: { value: string | null | undefined }): VNode {
  if (!value) return html`<span class="muted">—</span>`;
  return html`<time datetime=${value} title=${value}>${formatDate(value)}</time>`;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = t('unit.s');
  const min = t('unit.min');
  const h = t('unit.h');
  if (seconds < 1) return `${Math.round(seconds * 1000)} ${t('unit.ms')}`;
  if (seconds < 60) return `${seconds.toFixed(1)} ${s}`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} ${min} ${Math.floor(seconds % 60)} ${s}`;
  return `${Math.floor(m / 60)} ${h} ${m % 60} ${min}`;
}

/** A run's duration; while it runs, counted up from `started_at` every second. */
export function Duration({ item }: { item: ListItem }): VNode {
  const running = item.is_running && !!item.started_at && !item.finished_at;
  const now = useNow(running);
  if (!running) return html`<span>${formatDuration(item.duration)}</span>`;
  const seconds = Math.max(0, (now - new Date(item.started_at as string).getTime()) / 1000);
  return html`<span class="ticking" title=${t('duration.running')}>${formatDuration(seconds)}</span>`;
}

export function StatusBadge({ status }: { status: Status }): VNode {
  return html`<span class=${`badge badge-${status.toLowerCase()}`}>${t(`status.${status}`)}</span>`;
}

/** What a finished run's outcome adds to its status: skipped by its lock, or stopped by the timeout job. */
export function outcomeOf(item: ListItem | Detail): 'skipped' | 'timeout' | null {
  const result = (item as Partial<Detail>).result as { status?: unknown } | null | undefined;
  if (result && typeof result === 'object' && result.status === 'skipped') return 'skipped';
  // The list carries no result: the progress call of a skipped task (`{ skipped: true }`) marks it in metadata.
  if (item.metadata?.skipped === true) return 'skipped';
  const error = (item as Partial<Detail>).error;
  if (item.status === 'FAILURE' && typeof error === 'string' && error.startsWith('Task timeout')) return 'timeout';
  if (item.status === 'FAILURE' && item.metadata?.timed_out === true) return 'timeout';
  return null;
}

/** The status badge, and beside it "skipped" or "timed out" when that is what happened. */
export function StatusBadges({ item }: { item: ListItem | Detail }): VNode {
  const outcome = outcomeOf(item);
  return html`<span class="badges"><${StatusBadge} status=${item.status} />${
    outcome === 'skipped'
      ? html`<span class="badge badge-skipped" title=${t('outcome.skipped.title')}>${t('outcome.skipped')}</span>`
      : outcome === 'timeout'
        ? html`<span class="badge badge-timeout" title=${t('outcome.timeout.title')}>${t('outcome.timeout')}</span>`
        : null
  }</span>`;
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

/**
 * The progress of a run that has not finished, moving live. A finished run shows no stale bar: SUCCESS none (the
 * badge says it), FAILURE and REVOKED a bar in their colour stopped where the run stopped.
 */
export function ProgressBar({ item, label }: { item: ListItem; label: string }): VNode | null {
  const progress = progressOf(item);
  if (!progress || item.status === 'SUCCESS') return null;
  const stopped = item.status === 'FAILURE' || item.status === 'REVOKED';
  const text = [progress.step, progress.message].filter(Boolean).join(' · ');
  const percent = `${Math.round(progress.percent)}%`;
  return html`<div class=${`progress${stopped ? ' progress-stopped' : ''}`}>
    <div
      class=${`progress-track progress-${item.status.toLowerCase()}`}
      role="progressbar"
      aria-label=${label}
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${String(progress.percent)}
      aria-valuetext=${`${stopped ? t('progress.stoppedAt', { percent }) : percent}${text ? ` ${text}` : ''}`}
    >
      <div class="progress-fill" style=${{ width: `${progress.percent}%` }}></div>
    </div>
    <div class="progress-text"><span class="progress-percent">${stopped ? t('progress.stoppedAt', { percent }) : percent}</span> ${text}</div>
  </div>`;
}

export function Json({ value, label }: { value: unknown; label: string }): VNode {
  const text = value === undefined ? '' : JSON.stringify(value, null, 2);
  return html`<pre class="code" aria-label=${`${label} (JSON)`} tabindex="0">${text}</pre>`;
}

/** An error in plain words; an unreachable server is said once by the shell's banner, not here. */
export function ErrorNote({ error }: { error: string | null }): VNode | null {
  if (!error) return null;
  return html`<p class="alert" role="alert">${error}</p>`;
}

/** A long identifier: one line, cut with an ellipsis, the whole value on hover and focus (title) and when copied. */
export function Id({ value, className = '' }: { value: string | number; className?: string }): VNode {
  return html`<span class=${`id mono ${className}`} title=${String(value)} tabindex="0">${String(value)}</span>`;
}
