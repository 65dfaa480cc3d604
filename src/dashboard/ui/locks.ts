import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { ErrorNote, formatDate } from './common.js';
import type { LockRow } from './types.js';

/** Locks held now (admins). */
export function LocksView(): VNode {
  const [locks, setLocks] = useState<LockRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<LockRow[] | { results?: LockRow[]; locks?: LockRow[] }>('locks/')
      .then((body) => {
        setLocks(Array.isArray(body) ? body : (body.results ?? body.locks ?? []));
        setError(null);
      })
      .catch((e: unknown) => setError((e as Error).message));
  useEffect(() => {
    void load();
  }, []);
  return html`<main id="main">
    <div class="detail-head"><h1>Locks</h1><button type="button" onClick=${load}>Refresh</button></div>
    <p class="muted">Task locks held right now. A lock expires by itself at its expiry unless its holder renews it.</p>
    <${ErrorNote} error=${error} />
    ${locks && locks.length === 0 ? html`<p class="empty">No locks are held.</p>` : null}
    ${
      locks && locks.length > 0
        ? html`<table class="locks"><thead><tr><th scope="col">Name</th><th scope="col">Owner</th><th scope="col">Expires</th></tr></thead>
          <tbody>${locks.map(
            (
              l,
            ) => html`<tr><td data-label="Name" class="mono">${l.name}</td><td data-label="Owner" class="mono small">${l.owner}</td>
              <td data-label="Expires">${formatDate(l.expires_at)}</td></tr>`,
          )}</tbody></table>`
        : null
    }
  </main>`;
}
