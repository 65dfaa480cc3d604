/**
 * The dashboard's two catalogues hold the same keys, every message fills the same placeholders, and no message is
 * left empty or untranslated by accident (a Chinese text equal to the English one must be a proper noun or unit).
 */
import { describe, expect, it } from 'vitest';
import { en } from '../../src/dashboard/ui/i18n/en.js';
import { zhCN } from '../../src/dashboard/ui/i18n/zh-CN.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dashboard catalogues', () => {
  it('English and Simplified Chinese have the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('each message uses the same placeholders in both languages, and none is empty', () => {
    for (const [key, text] of Object.entries(en)) {
      const zh = zhCN[key as keyof typeof en];
      expect(text.trim(), key).not.toBe('');
      expect(zh.trim(), key).not.toBe('');
      expect(placeholders(zh), key).toEqual(placeholders(text));
    }
  });

  it('Chinese messages are translated (only units and placeholders-only texts may match the English)', () => {
    const same = Object.keys(en).filter((key) => zhCN[key as keyof typeof en] === en[key as keyof typeof en]);
    expect(same).toEqual([]);
  });
});
