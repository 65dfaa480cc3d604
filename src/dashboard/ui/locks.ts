import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { api } from './api.js';
import { ErrorNote, Id, Time, zoneName } from './common.js';
import { t } from './i18n/index.js';
import { useLive } from './live.js';
import type { LockRow } from './types.js';

/** Locks change without a stream event (taken, renewed, expired): read again this often while the page is visible. */
export const LOCKS_POLL_MS = 3000;

/** Locks held now (admins), kept current. */
export function LocksView(): VNode {
  const {
    data: locks,
    error,
    reload,
  } = useLive<LockRow[]>({
    key: 'locks',
    load: () =>
      api<LockRow[] | { results?: LockRow[]; locks?: LockRow[] }>('locks/').then((body) =>
        Array.isArray(body) ? body : (body.results ?? body.locks ?? []),
      ),
    pollMs: LOCKS_POLL_MS,
  });
  return html`<main id="main">
    <div class="detail-head"><h1>${t('locks.title')}</h1><button type="button" onClick=${reload}>${t('locks.refresh')}</button></div>
    <p class="muted">${t('locks.intro', { seconds: LOCKS_POLL_MS / 1000 })}</p>
    ${error && error.status !== 0 ? html`<${ErrorNote} error=${error.message} />` : null}
    ${locks && locks.length === 0 ? html`<p class="empty">${t('locks.none')}</p>` : null}
    ${
      locks && locks.length > 0
        ? html`<table class="locks"><thead><tr><th scope="col">${t('locks.name')}</th><th scope="col">${t('locks.owner')}</th>
            <th scope="col">${t('locks.expires', { zone: zoneName() })}</th></tr></thead>
          <tbody>${locks.map(
            (l) => html`<tr data-lock=${l.name}><td data-label=${t('locks.name')}><${Id} value=${l.name} /></td>
              <td data-label=${t('locks.owner')}><${Id} value=${l.owner} className="small" /></td>
              <td data-label=${t('locks.expiresShort')}><${Time} value=${l.expires_at} /></td></tr>`,
          )}</tbody></table>`
        : null
    }
  </main>`;
}
