import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PREFS, DRAWER_SHARE, FONT_SIZE, SIDE_WIDTH, indentation, prefs, prefsKey, sanitizePrefs } from '../src/ui/prefs';

class MemoryStorage {
  private data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, String(v));
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
  clear() {
    this.data.clear();
  }
}

describe('sanitizePrefs', () => {
  it('gives the defaults for nothing or garbage', () => {
    expect(sanitizePrefs(null)).toEqual(DEFAULT_PREFS);
    expect(sanitizePrefs('x')).toEqual(DEFAULT_PREFS);
    expect(sanitizePrefs({ fontSize: 'big', tabWidth: 3, wordWrap: 'yes', keyBindings: 'nano', sideWidth: NaN })).toEqual(DEFAULT_PREFS);
  });

  it('clamps sizes to their ranges and keeps valid choices', () => {
    const p = sanitizePrefs({ fontSize: 99, tabWidth: 2, wordWrap: true, keyBindings: 'vim', sideWidth: 10, drawerShare: 0.99 });
    expect(p.fontSize).toBe(FONT_SIZE.max);
    expect(p.tabWidth).toBe(2);
    expect(p.wordWrap).toBe(true);
    expect(p.keyBindings).toBe('vim');
    expect(p.sideWidth).toBe(SIDE_WIDTH.min);
    expect(p.drawerShare).toBe(DRAWER_SHARE.max);
    expect(sanitizePrefs({ fontSize: 1 }).fontSize).toBe(FONT_SIZE.min);
    expect(sanitizePrefs({ fontSize: 15.6 }).fontSize).toBe(16);
  });
});

describe('indentation', () => {
  it("follows the language unless a width is chosen, keeping the language's tabs-or-spaces", () => {
    expect(indentation({ tabSize: 4, insertSpaces: false }, 'language')).toEqual({ tabSize: 4, insertSpaces: false });
    expect(indentation({ tabSize: 4, insertSpaces: true }, 2)).toEqual({ tabSize: 2, insertSpaces: true });
  });
});

describe('prefs store', () => {
  beforeEach(() => {
    (globalThis as { localStorage?: unknown }).localStorage = new MemoryStorage();
  });

  it('keeps each user its own preferences and tells subscribers', () => {
    let told = 0;
    const off = prefs.subscribe(() => (told += 1));
    prefs.update(1, { fontSize: 18, keyBindings: 'emacs' });
    expect(told).toBe(1);
    expect(prefs.of(1).fontSize).toBe(18);
    expect(JSON.parse(localStorage.getItem(prefsKey(1))!).keyBindings).toBe('emacs');
    expect(prefs.of(2)).toEqual(DEFAULT_PREFS);
    expect(prefs.of(1).keyBindings).toBe('emacs');
    off();
  });

  it('stores only sanitized values', () => {
    prefs.update(3, { fontSize: 500 });
    expect(JSON.parse(localStorage.getItem(prefsKey(3))!).fontSize).toBe(FONT_SIZE.max);
  });
});
