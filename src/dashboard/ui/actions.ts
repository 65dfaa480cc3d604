/**
 * Retry and Cancel on a run's page, for admins of an instance whose queue source can do them (`actions` of
 * `GET dashboard/session`). Each asks first in a modal `<dialog>` (focus moves into it, Escape or "Go back" closes it
 * and focus returns to the button), then calls `POST executions/{id}/retry/` or `…/cancel/` and says what happened.
 * The run itself updates through its stream (and one reload).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { t } from './i18n/index.js';
import { session } from './session.js';
import { useStore } from './store.js';
import type { Detail } from './types.js';

type Action = 'retry' | 'cancel';

/** Which action a run's status offers: a failed run can be retried; one not started (or waiting to retry) cancelled. */
export function actionFor(status: string): Action | null {
  if (status === 'FAILURE') return 'retry';
  if (status === 'PENDING' || status === 'RETRY') return 'cancel';
  return null;
}

export function RunActions({ run, onDone }: { run: Detail; onDone: () => void }): VNode | null {
  const me = useStore(session);
  const [asking, setAsking] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; ok: boolean } | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (asking && !d.open) d.showModal();
    if (!asking && d.open) d.close();
  }, [asking]);

  if (me?.actions !== true) return null;
  const action = actionFor(run.status);

  const close = () => {
    setAsking(null);
    trigger.current?.focus();
  };
  const confirm = async () => {
    if (!asking) return;
    const which = asking;
    setBusy(true);
    try {
      await api<Detail>(`executions/${encodeURIComponent(String(run.id))}/${which}/`, { method: 'POST' });
      setMessage({ text: t(which === 'retry' ? 'action.retry.done' : 'action.cancel.done'), ok: true });
      onDone();
    } catch (e) {
      setMessage({
        text: t(which === 'retry' ? 'action.retry.failed' : 'action.cancel.failed', { message: (e as Error).message }),
        ok: false,
      });
    } finally {
      setBusy(false);
      close();
    }
  };

  return html`<div class="run-actions">
    ${
      action
        ? html`<button type="button" ref=${trigger} class=${action === 'cancel' ? 'danger' : ''} disabled=${busy}
            onClick=${() => {
              setMessage(null);
              setAsking(action);
            }}>${t(action === 'retry' ? 'action.retry' : 'action.cancel')}</button>`
        : null
    }
    ${message ? html`<p class=${message.ok ? 'notice' : 'alert'} role="status">${message.text}</p>` : null}
    <dialog ref=${dialog} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text"
      onCancel=${(e: Event) => {
        e.preventDefault();
        close();
      }}>
      ${
        asking
          ? html`<h2 id="confirm-title">${t(asking === 'retry' ? 'action.retry.title' : 'action.cancel.title')}</h2>
            <p id="confirm-text">${t(asking === 'retry' ? 'action.retry.text' : 'action.cancel.text', { name: run.task_name || run.task_id })}</p>
            <p class="muted">${t('action.recorded')}</p>
            <div class="confirm-buttons">
              <button type="button" autofocus onClick=${close} disabled=${busy}>${t('action.back')}</button>
              <button type="button" class=${asking === 'cancel' ? 'danger' : 'primary'} onClick=${confirm} disabled=${busy}>
                ${busy ? t('action.working') : t(asking === 'retry' ? 'action.retry.confirm' : 'action.cancel.confirm')}
              </button>
            </div>`
          : null
      }
    </dialog>
  </div>`;
}
