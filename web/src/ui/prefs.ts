// Per-user comfort settings: editor preferences and pane sizes. Kept in this browser's
// localStorage under the user's id: they are about this screen and keyboard (a laptop wants a
// different font size and layout than a wide monitor), they must apply before the first paint of a
// pad, and nothing on the server needs them. Other tabs of the same user follow through the
// `storage` event, so a change applies live everywhere.
import { useSyncExternalStore } from 'react';

export type KeyBindings = 'standard' | 'vim' | 'emacs';
/** 'language': the language's convention (4 for Python, tabs for Go…); a number overrides it. */
export type TabWidth = 'language' | 2 | 4 | 8;

export interface Prefs {
  fontSize: number;
  tabWidth: TabWidth;
  wordWrap: boolean;
  keyBindings: KeyBindings;
  /** Pane sizes in CSS pixels; the drawer (output/terminal) height as a share of the editor column. */
  filesWidth: number;
  sideWidth: number;
  drawerShare: number;
}

export const FONT_SIZE = { min: 10, max: 28, default: 14 } as const;
export const TAB_WIDTHS: readonly TabWidth[] = ['language', 2, 4, 8];
export const KEY_BINDINGS: readonly KeyBindings[] = ['standard', 'vim', 'emacs'];
export const FILES_WIDTH = { min: 140, max: 480, default: 210 } as const;
export const SIDE_WIDTH = { min: 240, max: 640, default: 320 } as const;
/** The editor keeps at least a quarter of its column; the drawer at least 12 %. */
export const DRAWER_SHARE = { min: 0.12, max: 0.75, default: 0.34 } as const;

export const DEFAULT_PREFS: Prefs = {
  fontSize: FONT_SIZE.default,
  tabWidth: 'language',
  wordWrap: false,
  keyBindings: 'standard',
  filesWidth: FILES_WIDTH.default,
  sideWidth: SIDE_WIDTH.default,
  drawerShare: DRAWER_SHARE.default,
};

const KEY_PREFIX = 'oc_prefs:';

export function prefsKey(userId: number | null | undefined): string {
  return `${KEY_PREFIX}${userId ?? 'visitor'}`;
}

export function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, value));
}

function numberIn(value: unknown, range: { min: number; max: number; default: number }, round: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return range.default;
  return clamp(round ? Math.round(value) : value, range);
}

/** Whatever was stored (older versions, hand edits, garbage) as valid preferences. */
export function sanitizePrefs(raw: unknown): Prefs {
  const r = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  return {
    fontSize: numberIn(r.fontSize, FONT_SIZE, true),
    tabWidth: TAB_WIDTHS.includes(r.tabWidth as TabWidth) ? (r.tabWidth as TabWidth) : DEFAULT_PREFS.tabWidth,
    wordWrap: typeof r.wordWrap === 'boolean' ? r.wordWrap : DEFAULT_PREFS.wordWrap,
    keyBindings: KEY_BINDINGS.includes(r.keyBindings as KeyBindings) ? (r.keyBindings as KeyBindings) : DEFAULT_PREFS.keyBindings,
    filesWidth: numberIn(r.filesWidth, FILES_WIDTH, true),
    sideWidth: numberIn(r.sideWidth, SIDE_WIDTH, true),
    drawerShare: numberIn(r.drawerShare, DRAWER_SHARE, false),
  };
}

/** Indentation for a model: the language's convention unless the user chose a width. */
export function indentation(language: { tabSize: number; insertSpaces: boolean }, tabWidth: TabWidth) {
  return tabWidth === 'language' ? language : { tabSize: tabWidth, insertSpaces: language.insertSpaces };
}

function read(key: string): Prefs {
  try {
    const stored = localStorage.getItem(key);
    return sanitizePrefs(stored ? JSON.parse(stored) : null);
  } catch {
    return DEFAULT_PREFS;
  }
}

/** The preferences of one user at a time (whoever is signed in on this tab). */
class PrefsStore {
  private key: string | null = null;
  private state: Prefs = DEFAULT_PREFS;
  private readonly listeners = new Set<() => void>();

  constructor() {
    if (typeof window !== 'undefined') {
      window.addEventListener('storage', (e) => {
        if (e.key !== null && e.key === this.key) this.replace(read(e.key));
      });
    }
  }

  /** Preferences of `userId`, loaded from storage the first time (and after a switch of user). */
  of(userId: number | null | undefined): Prefs {
    const key = prefsKey(userId);
    if (key !== this.key) {
      this.key = key;
      this.state = read(key);
    }
    return this.state;
  }

  update(userId: number | null | undefined, patch: Partial<Prefs>) {
    const next = sanitizePrefs({ ...this.of(userId), ...patch });
    try {
      localStorage.setItem(prefsKey(userId), JSON.stringify(next));
    } catch {
      // Private mode or a full quota: the change still applies to this tab.
    }
    this.replace(next);
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  private replace(next: Prefs) {
    this.state = next;
    this.listeners.forEach((l) => l());
  }
}

export const prefs = new PrefsStore();

export function usePrefs(userId: number | null | undefined): Prefs {
  return useSyncExternalStore(
    prefs.subscribe,
    () => prefs.of(userId),
    () => DEFAULT_PREFS,
  );
}
