import { html } from 'htm/preact';
import { render, type VNode } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api, clearToken, getToken, setToken } from './api.js';
import { parseRoute, type Route } from './common.js';
import { RunDetail } from './detail.js';
import { LocksView } from './locks.js';
import { type LiveState, RunList } from './runs.js';
import { SignIn } from './signin.js';
import { StatsView } from './stats.js';

type Auth = { state: 'checking' } | { state: 'signed-out'; error: string | null } | { state: 'in'; isAdmin: boolean };

/** Whether the caller is signed in (token or host session), and whether they may see every user's runs. */
async function checkAuth(): Promise<Auth> {
  try {
    await api('executions/', { query: { page_size: '1' } });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return { state: 'signed-out', error: null };
    throw e;
  }
  try {
    await api('executions/', { query: { page_size: '1', my_tasks: 'false' } });
    return { state: 'in', isAdmin: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return { state: 'in', isAdmin: false };
    throw e;
  }
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App(): VNode {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [fatal, setFatal] = useState<string | null>(null);
  const [live, setLive] = useState<LiveState>('closed');
  const onLive = useCallback((s: LiveState) => setLive(s), []);

  const refresh = () =>
    checkAuth()
      .then(setAuth)
      .catch((e: unknown) => setFatal((e as Error).message));
  useEffect(() => {
    void refresh();
  }, []);

  if (fatal)
    return html`<main id="main" class="signin"><p class="alert" role="alert">Cannot reach the API: ${fatal}</p></main>`;
  if (auth.state === 'checking')
    return html`<main id="main" class="signin"><p class="muted" aria-live="polite">Loading…</p></main>`;
  if (auth.state === 'signed-out')
    return html`<${SignIn}
      error=${auth.error}
      onSignIn=${async (token: string, remember: boolean) => {
        setToken(token, remember);
        const next = await checkAuth().catch((e: unknown) => ({
          state: 'signed-out' as const,
          error: (e as Error).message,
        }));
        if (next.state === 'signed-out') {
          clearToken();
          setAuth({ state: 'signed-out', error: next.error ?? 'That token was not accepted.' });
        } else setAuth(next);
      }}
    />`;

  const view = route.view === 'runs' && route.id ? 'detail' : route.view;
  const nav = (name: string, href: string, label: string) =>
    html`<a href=${href} aria-current=${view === name || (name === 'runs' && view === 'detail') ? 'page' : undefined}>${label}</a>`;
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="#/runs">agentcore-task</a>
      <nav aria-label="Sections">
        ${nav('runs', '#/runs', 'Runs')} ${nav('stats', '#/stats', 'Stats')} ${auth.isAdmin ? nav('locks', '#/locks', 'Locks') : null}
      </nav>
      <span class=${`live live-${live}`} role="status" aria-label=${`Live updates: ${live}`} title="Live updates">
        ${live === 'live' ? 'Live' : live === 'reconnecting' ? 'Reconnecting…' : ''}
      </span>
      ${
        getToken()
          ? html`<button type="button" class="link" onClick=${() => {
              clearToken();
              setAuth({ state: 'signed-out', error: null });
            }}>Sign out</button>`
          : null
      }
    </header>
    ${view === 'detail' ? html`<${RunDetail} key=${route.id} id=${route.id} onLive=${onLive} />` : null}
    ${view === 'runs' ? html`<${RunList} route=${route} isAdmin=${auth.isAdmin} onLive=${onLive} />` : null}
    ${view === 'stats' ? html`<${StatsView} route=${route} isAdmin=${auth.isAdmin} />` : null}
    ${view === 'locks' && auth.isAdmin ? html`<${LocksView} />` : null}
    ${!['detail', 'runs', 'stats'].includes(view) && !(view === 'locks' && auth.isAdmin) ? html`<main id="main"><p>Page not found. <a href="#/runs">All runs</a></p></main>` : null}
  </div>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
