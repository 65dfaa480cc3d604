/**
 * The UI's words, one catalogue per language (`en.ts`, `zh-CN.ts`, same keys: the type checks it, and a test too).
 * `{name}` in a message is replaced by `vars.name`.
 */
import { lang } from '../prefs.js';
import { en, type MessageKey } from './en.js';
import { zhCN } from './zh-CN.js';

export type { MessageKey } from './en.js';

export const CATALOGUES: Record<string, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

/** The message `key` in the chosen language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = CATALOGUES[lang.get()]?.[key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** `key.one` for exactly 1 and `key.other` otherwise (Chinese has one form: both hold the same text). */
export function tCount(key: 'runs.count' | 'chart.summary.runs', n: number): string {
  return t(n === 1 ? `${key}.one` : `${key}.other`, { n: n.toLocaleString(lang.get()) });
}
