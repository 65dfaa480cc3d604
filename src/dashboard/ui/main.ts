import { html } from 'htm/preact';
import { render, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { clearToken, connection, getToken, setToken } from './api.js';
import { parseRoute, type Route, routeHref } from './common.js';
import { RunDetail } from './detail.js';
import { t } from './i18n/index.js';
import { liveState, RETRY_MS } from './live.js';
import { LocksView } from './locks.js';
import { applyDocumentPrefs, type Lang, lang, type Theme, theme, type Zone, zone } from './prefs.js';
import { RunList } from './runs.js';
import { readSession, scopeOf, scopeParam, session } from './session.js';
import { SignIn } from './signin.js';
import { StatsView } from './stats.js';
import { useStore } from './store.js';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Language, time zone and theme: visible on every page, remembered in localStorage. */
function Preferences(): VNode {
  const l = useStore(lang);
  const z = useStore(zone);
  const th = useStore(theme);
  const select = (e: Event) => (e.target as HTMLSelectElement).value;
  return html`<div class="prefs">
    <select aria-label=${t('prefs.language')} title=${t('prefs.language')} value=${l} onChange=${(e: Event) => lang.set(select(e) as Lang)}>
      <option value="en">English</option>
      <option value="zh-CN">简体中文</option>
    </select>
    <select aria-label=${t('prefs.zone')} title=${t('prefs.zone')} value=${z} onChange=${(e: Event) => zone.set(select(e) as Zone)}>
      <option value="local">${t('prefs.zoneLocal')}</option>
      <option value="utc">UTC</option>
    </select>
    <select aria-label=${t('prefs.theme')} title=${t('prefs.theme')} value=${th} onChange=${(e: Event) => theme.set(select(e) as Theme)}>
      <option value="system">${t('prefs.themeSystem')}</option>
      <option value="light">${t('prefs.themeLight')}</option>
      <option value="dark">${t('prefs.themeDark')}</option>
    </select>
  </div>`;
}

/** A plain-words banner while the server cannot be reached; every view retries by itself and it goes away. */
function ConnectionBanner(): VNode | null {
  const state = useStore(connection);
  if (state === 'up') return null;
  return html`<p class="banner" role="alert">${t('error.unreachable')}</p>`;
}

type Auth = { state: 'checking' } | { state: 'signed-out'; error: string | null } | { state: 'in' };

function App(): VNode {
  const route = useRoute();
  useStore(lang); // every string and date re-renders in the new language / zone
  useStore(zone);
  const live = useStore(liveState);
  const me = useStore(session);
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = () =>
      readSession()
        .then((s) => {
          if (stopped) return;
          session.set(s);
          setAuth(s.signed_in ? { state: 'in' } : { state: 'signed-out', error: null });
        })
        .catch(() => {
          // Unreachable: the banner says so; try again until the server answers.
          if (!stopped) timer = setTimeout(check, RETRY_MS);
        });
    void check();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  const signIn = async (token: string, remember: boolean) => {
    setToken(token, remember);
    try {
      const s = await readSession();
      if (!s.signed_in) {
        clearToken();
        setAuth({ state: 'signed-out', error: t('signin.rejected') });
        return;
      }
      session.set(s);
      setAuth({ state: 'in' });
    } catch {
      clearToken();
      setAuth({ state: 'signed-out', error: t('error.unreachableShort') });
    }
  };

  const signedIn = auth.state === 'in' && me?.signed_in === true;
  const isAdmin = signedIn && me?.is_admin === true;
  const view = route.view === 'runs' && route.id ? 'detail' : route.view;
  const scope = signedIn ? scopeParam(scopeOf(route.query)) : undefined;
  const nav = (name: string, path: string, label: string) =>
    html`<a href=${routeHref(path, { scope })} aria-current=${view === name || (name === 'runs' && view === 'detail') ? 'page' : undefined}>${label}</a>`;

  let content: VNode;
  if (auth.state === 'checking')
    content = html`<main id="main" class="signin"><p class="muted" aria-live="polite">${t('loading')}</p></main>`;
  else if (!signedIn)
    content = html`<${SignIn} error=${auth.state === 'signed-out' ? auth.error : null} onSignIn=${signIn} />`;
  else if (view === 'detail') content = html`<${RunDetail} key=${route.id} id=${route.id} route=${route} />`;
  else if (view === 'runs') content = html`<${RunList} route=${route} />`;
  else if (view === 'stats') content = html`<${StatsView} route=${route} />`;
  else if (view === 'locks' && isAdmin) content = html`<${LocksView} />`;
  else
    content = html`<main id="main"><p>${t('notFound')} <a href=${routeHref('/runs', { scope })}>${t('run.back')}</a></p></main>`;

  return html`<div class="shell">
    <a class="skip" href="#main">${t('skip')}</a>
    <header class="top">
      <a class="brand" href=${routeHref('/runs', { scope })}>agentcore-task</a>
      ${
        signedIn
          ? html`<nav aria-label=${t('nav.label')}>
              ${nav('runs', '/runs', t('nav.runs'))} ${nav('stats', '/stats', t('nav.stats'))} ${isAdmin ? nav('locks', '/locks', t('nav.locks')) : null}
            </nav>`
          : html`<span class="spacer"></span>`
      }
      ${
        signedIn
          ? html`<span class=${`live live-${live}`} role="status" aria-label=${t('live.label', { state: t(`live.${live}`) })} title=${t('live.title')}>
              ${live === 'live' ? t('live.live') : live === 'reconnecting' ? t('live.reconnecting') : ''}
            </span>`
          : null
      }
      <${Preferences} />
      ${
        signedIn && getToken()
          ? html`<button type="button" class="link" onClick=${() => {
              clearToken();
              session.set({ signed_in: false, user: null, can_view_all: false, is_admin: false });
              setAuth({ state: 'signed-out', error: null });
            }}>${t('signout')}</button>`
          : null
      }
    </header>
    <${ConnectionBanner} />
    ${content}
  </div>`;
}

applyDocumentPrefs();
const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
