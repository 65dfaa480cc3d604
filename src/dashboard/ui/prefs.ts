/** The viewer's choices, kept in localStorage: language, time zone shown, colour theme. */
import { persistedStore } from './store.js';

export type Lang = 'en' | 'zh-CN';
export type Zone = 'local' | 'utc';
export type Theme = 'system' | 'light' | 'dark';

export const LANGS: readonly Lang[] = ['en', 'zh-CN'];

/** The browser's language when it is one we have (any `zh*` reads Simplified Chinese), else English. */
export function browserLang(languages: readonly string[] = navigator.languages ?? [navigator.language]): Lang {
  for (const tag of languages) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export const lang = persistedStore<Lang>('lang', LANGS, browserLang());
export const zone = persistedStore<Zone>('zone', ['local', 'utc'], 'local');
export const theme = persistedStore<Theme>('theme', ['system', 'light', 'dark'], 'system');

/** Mirrors the choices onto `<html>`: `lang` for screen readers and fonts, `data-theme` for the stylesheet. */
export function applyDocumentPrefs(): void {
  const apply = () => {
    document.documentElement.lang = lang.get();
    const t = theme.get();
    if (t === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = t;
  };
  apply();
  lang.subscribe(apply);
  theme.subscribe(apply);
}
