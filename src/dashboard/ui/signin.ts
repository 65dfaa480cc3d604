import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorNote } from './common.js';
import { t } from './i18n/index.js';

/** Sign-in with a bearer token (a host with cookie sessions never shows this page). */
export function SignIn({
  onSignIn,
  error,
}: {
  onSignIn: (token: string, remember: boolean) => void;
  error: string | null;
}): VNode {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  return html`<main class="signin" id="main">
    <form
      class="card"
      aria-labelledby="signin-title"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        if (token.trim()) onSignIn(token.trim(), remember);
      }}
    >
      <h1 id="signin-title">${t('signin.title')}</h1>
      <p class="muted">${t('signin.intro')}</p>
      <${ErrorNote} error=${error} />
      <label for="token">${t('signin.token')}</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required value=${token}
        onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)} />
      <label class="check"><input type="checkbox" checked=${remember}
        onChange=${(e: Event) => setRemember((e.target as HTMLInputElement).checked)} /> ${t('signin.remember')}</label>
      <button type="submit" class="primary">${t('signin.submit')}</button>
    </form>
  </main>`;
}
