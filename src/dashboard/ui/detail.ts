import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, openStream } from './api.js';
import { ErrorNote, formatDate, formatDuration, Json, ProgressBar, StatusBadge } from './common.js';
import type { LiveState } from './runs.js';
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

/** One run: summary, progress, timeline, error and traceback, args, kwargs, result, metadata, collected logs. */
export function RunDetail({ id, onLive }: { id: string; onLive: (s: LiveState) => void }): VNode {
  const [run, setRun] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const lastStatus = useRef<string | null>(null);
  lastStatus.current = run?.status ?? lastStatus.current;

  const load = () =>
    api<Detail>(`executions/${encodeURIComponent(id)}/`)
      .then((r) => {
        setRun(r);
        setError(null);
      })
      .catch((e: unknown) =>
        setError(
          e instanceof ApiError && e.status === 404 ? 'This run does not exist or is not yours.' : (e as Error).message,
        ),
      );

  useEffect(() => {
    setRun(null);
    void load();
    let refetch: ReturnType<typeof setTimeout> | undefined;
    const stop = openStream(
      `executions/${encodeURIComponent(id)}/stream/`,
      {},
      (event) => {
        if (event.event !== 'execution') return;
        const item = JSON.parse(event.data) as ListItem;
        const statusChanged = lastStatus.current !== item.status;
        lastStatus.current = item.status;
        setRun((current) => (current ? { ...current, ...item } : current));
        // The stream carries the list fields; result, error and traceback come with the detail, read once settled.
        if (statusChanged || item.is_completed) {
          clearTimeout(refetch);
          refetch = setTimeout(() => void load(), 200);
        }
      },
      onLive,
    );
    return () => {
      clearTimeout(refetch);
      stop();
      onLive('closed');
    };
  }, [id]);

  const sync = async () => {
    setSyncing(true);
    setNotice(null);
    try {
      setRun(await api<Detail>(`executions/${encodeURIComponent(id)}/sync/`, { method: 'POST' }));
      setNotice('Synced from the queue.');
    } catch (e) {
      setNotice(`Sync failed: ${(e as Error).message}`);
    } finally {
      setSyncing(false);
    }
  };

  if (error) return html`<main id="main"><p><a href="#/runs">← All runs</a></p><${ErrorNote} error=${error} /></main>`;
  if (!run) return html`<main id="main"><p class="muted" aria-live="polite">Loading…</p></main>`;

  const metadata = { ...(run.metadata ?? {}) };
  const logs = Array.isArray(metadata.logs) ? (metadata.logs as LogEntry[]) : [];
  delete metadata.logs;
  return html`<main id="main" class="detail">
    <p><a href="#/runs">← All runs</a></p>
    <div class="detail-head">
      <h1>${run.task_name || '(unnamed)'} <${StatusBadge} status=${run.status} /></h1>
      <button type="button" onClick=${sync} disabled=${syncing} aria-label="Sync this run from the queue">
        ${syncing ? 'Syncing…' : 'Sync'}
      </button>
    </div>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <dl class="facts">
      <div><dt>Task id</dt><dd class="mono">${run.task_id}</dd></div>
      <div><dt>Module</dt><dd>${run.module || '—'}</dd></div>
      <div><dt>Run id</dt><dd>${run.id}</dd></div>
      <div><dt>Started by</dt><dd>${run.created_by_username ?? run.created_by_id ?? 'system'}</dd></div>
      <div><dt>Duration</dt><dd>${formatDuration(run.duration)}</dd></div>
    </dl>
    <${ProgressBar} item=${run} label="Progress" />

    <section aria-labelledby="h-timeline"><h2 id="h-timeline">Timeline</h2>
      <ol class="timeline">
        <li class="done"><span>Created</span> <time datetime=${run.created_at}>${formatDate(run.created_at)}</time></li>
        <li class=${run.started_at ? 'done' : ''}><span>Started</span> ${run.started_at ? html`<time datetime=${run.started_at}>${formatDate(run.started_at)}</time>` : html`<span class="muted">not yet</span>`}</li>
        <li class=${run.finished_at ? 'done' : ''}><span>Finished</span> ${run.finished_at ? html`<time datetime=${run.finished_at}>${formatDate(run.finished_at)}</time>` : html`<span class="muted">not yet</span>`}</li>
      </ol>
    </section>

    ${
      run.error || run.traceback
        ? html`<section aria-labelledby="h-error"><h2 id="h-error">Error</h2>
            ${run.error ? html`<p class="alert">${run.error}</p>` : null}
            ${run.traceback ? html`<pre class="code traceback" aria-label="Traceback" tabindex="0">${run.traceback}</pre>` : null}
          </section>`
        : null
    }

    <section aria-labelledby="h-result"><h2 id="h-result">Result</h2><${Json} value=${run.result} label="Result" /></section>
    <div class="two">
      <section aria-labelledby="h-args"><h2 id="h-args">Arguments</h2><${Json} value=${run.task_args} label="Arguments" /></section>
      <section aria-labelledby="h-kwargs"><h2 id="h-kwargs">Keyword arguments</h2><${Json} value=${run.task_kwargs} label="Keyword arguments" /></section>
    </div>
    <section aria-labelledby="h-metadata"><h2 id="h-metadata">Metadata</h2><${Json} value=${metadata} label="Metadata" /></section>

    <section aria-labelledby="h-logs"><h2 id="h-logs">Logs</h2>
      ${
        logs.length === 0
          ? html`<p class="muted">No logs were collected for this run.</p>`
          : html`<table class="logs">
              <thead><tr><th scope="col">Time</th><th scope="col">Level</th><th scope="col">Message</th></tr></thead>
              <tbody>${logs.map(
                (log) => html`<tr class=${`log-${levelName(log.level).toLowerCase()}`}>
                  <td data-label="Time"><time datetime=${log.timestamp}>${formatDate(log.timestamp)}</time></td>
                  <td data-label="Level"><span class="level">${levelName(log.level)}</span></td>
                  <td data-label="Message">${log.message}${log.exception ? html`<pre class="code small">${log.exception}</pre>` : null}</td>
                </tr>`,
              )}</tbody>
            </table>`
      }
    </section>
  </main>`;
}
