import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { RunActions } from './actions.js';
import { api } from './api.js';
import { Duration, ErrorNote, Id, Json, outcomeOf, ProgressBar, type Route, StatusBadges, Time } from './common.js';
import { t } from './i18n/index.js';
import { useLive } from './live.js';
import { listHref } from './runs.js';
import type { Detail, ListItem, LogEntry } from './types.js';

/**
 * A stored log level as Python names it (`INFO`, `WARNING`, …). Rows written by earlier releases hold lower-case names
 * (`info`, `error`), and hosts may write `warn`/`fatal`; all show, and are styled, the same way. Mirrors
 * `TaskLogCollector.normalizeLevel` (not imported: it would pull server code into the bundle).
 */
function levelName(level: unknown): string {
  if (typeof level !== 'string' || level.trim() === '') return 'UNKNOWN';
  const upper = level.trim().toUpperCase();
  return upper === 'WARN' ? 'WARNING' : upper === 'FATAL' ? 'CRITICAL' : upper;
}

/**
 * One run: summary, progress, timeline, error and traceback, args, kwargs, result, metadata, collected logs. Each
 * event of the run's stream shows at once and is followed by a (coalesced) read of the detail, which carries what the
 * stream does not (result, error, traceback).
 */
export function RunDetail({ id, route }: { id: string; route: Route }): VNode {
  const [syncing, setSyncing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const path = `executions/${encodeURIComponent(id)}/`;
  const {
    data: run,
    error,
    reload,
  } = useLive<Detail>({
    key: id,
    load: () => api<Detail>(path),
    stream: { path: `${path}stream/`, query: {} },
    patch: (current, event) =>
      event.event === 'execution' ? { ...current, ...(JSON.parse(event.data) as ListItem) } : current,
  });
  const back = html`<p><a href=${listHref(route.query)} class="back">${t('run.back')}</a></p>`;

  const sync = async () => {
    setSyncing(true);
    setNotice(null);
    try {
      await api<Detail>(`${path}sync/`, { method: 'POST' });
      reload();
      setNotice(t('run.synced'));
    } catch (e) {
      setNotice(t('run.syncFailed', { message: (e as Error).message }));
    } finally {
      setSyncing(false);
    }
  };

  if (error && error.status !== 0 && !run)
    return html`<main id="main">${back}<${ErrorNote} error=${error.status === 404 ? t('run.notFound') : error.message} /></main>`;
  if (!run) return html`<main id="main">${back}<p class="muted" aria-live="polite">${t('loading')}</p></main>`;

  const metadata = { ...(run.metadata ?? {}) };
  const logs = Array.isArray(metadata.logs) ? (metadata.logs as LogEntry[]) : [];
  delete metadata.logs;
  const outcome = outcomeOf(run);
  return html`<main id="main" class="detail">
    ${back}
    <div class="detail-head">
      <h1><span class="title">${run.task_name || t('run.unnamed')}</span> <${StatusBadges} item=${run} /></h1>
      <button type="button" onClick=${sync} disabled=${syncing} aria-label=${t('run.syncLabel')}>
        ${syncing ? t('run.syncing') : t('run.sync')}
      </button>
    </div>
    <${RunActions} run=${run} onDone=${reload} />
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    ${outcome === 'skipped' ? html`<p class="note">${t('outcome.skipped.note')}</p>` : null}
    ${outcome === 'timeout' ? html`<p class="note note-failure">${t('outcome.timeout.note')}</p>` : null}
    <dl class="facts">
      <div><dt>${t('run.taskId')}</dt><dd><${Id} value=${run.task_id} /></dd></div>
      <div><dt>${t('col.module')}</dt><dd>${run.module || '—'}</dd></div>
      <div><dt>${t('run.runId')}</dt><dd>${run.id}</dd></div>
      <div><dt>${t('run.startedBy')}</dt><dd>${run.created_by_username ?? run.created_by_id ?? t('user.system')}</dd></div>
      <div><dt>${t('col.duration')}</dt><dd><${Duration} item=${run} /></dd></div>
    </dl>
    <${ProgressBar} item=${run} label=${t('col.progress')} />

    <section aria-labelledby="h-timeline"><h2 id="h-timeline">${t('run.timeline')}</h2>
      <ol class="timeline">
        <li class="done"><span>${t('run.created')}</span> <${Time} value=${run.created_at} /></li>
        <li class=${run.started_at ? 'done' : ''}><span>${t('run.started')}</span> ${run.started_at ? html`<${Time} value=${run.started_at} />` : html`<span class="muted">${t('run.notYet')}</span>`}</li>
        <li class=${run.finished_at ? `done end-${run.status.toLowerCase()}` : ''}><span>${t('run.finished')}</span> ${run.finished_at ? html`<${Time} value=${run.finished_at} />` : html`<span class="muted">${t('run.notYet')}</span>`}</li>
      </ol>
    </section>

    ${
      run.error || run.traceback
        ? html`<section aria-labelledby="h-error"><h2 id="h-error">${t('run.error')}</h2>
            ${run.error ? html`<p class="alert">${run.error}</p>` : null}
            ${run.traceback ? html`<pre class="code traceback" aria-label=${t('run.traceback')} tabindex="0">${run.traceback}</pre>` : null}
          </section>`
        : null
    }

    <section aria-labelledby="h-result"><h2 id="h-result">${t('run.result')}</h2><${Json} value=${run.result} label=${t('run.result')} /></section>
    <div class="two">
      <section aria-labelledby="h-args"><h2 id="h-args">${t('run.args')}</h2><${Json} value=${run.task_args} label=${t('run.args')} /></section>
      <section aria-labelledby="h-kwargs"><h2 id="h-kwargs">${t('run.kwargs')}</h2><${Json} value=${run.task_kwargs} label=${t('run.kwargs')} /></section>
    </div>
    <section aria-labelledby="h-metadata"><h2 id="h-metadata">${t('run.metadata')}</h2><${Json} value=${metadata} label=${t('run.metadata')} /></section>

    <section aria-labelledby="h-logs"><h2 id="h-logs">${t('run.logs')}</h2>
      ${
        logs.length === 0
          ? html`<p class="muted">${t('run.noLogs')}</p>`
          : html`<table class="logs">
              <thead><tr><th scope="col">${t('log.time')}</th><th scope="col">${t('log.level')}</th><th scope="col">${t('log.message')}</th></tr></thead>
              <tbody>${logs.map(
                (log) => html`<tr class=${`log-${levelName(log.level).toLowerCase()}`}>
                  <td data-label=${t('log.time')}><${Time} value=${log.timestamp} /></td>
                  <td data-label=${t('log.level')}><span class="level">${levelName(log.level)}</span></td>
                  <td data-label=${t('log.message')}><span class="cell">${log.message}</span>${log.exception ? html`<pre class="code small">${log.exception}</pre>` : null}</td>
                </tr>`,
              )}</tbody>
            </table>`
      }
    </section>
  </main>`;
}
