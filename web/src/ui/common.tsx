import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { describeError } from '../api';
import { textOn } from '../editor/colors';
import { personColor } from './personColor';

/** Stable hue from a string (used where the server gives no colour). */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const a = Array.from(parts[0])[0] ?? '';
  const b = parts.length > 1 ? Array.from(parts[parts.length - 1])[0] ?? '' : Array.from(parts[0])[1] ?? '';
  return (a + b).toUpperCase();
}

/** A person's initials on their colour (the one their cursor and playback edits have). */
export function Avatar(props: { name: string; userId: number | null | undefined; size?: number; title?: string }) {
  const size = props.size ?? 28;
  const bg = personColor(props.userId, props.name);
  return (
    <span
      className="avatar"
      title={props.title ?? props.name}
      aria-label={props.title ?? props.name}
      style={{ width: size, height: size, background: bg, color: textOn(bg), fontSize: Math.round(size * 0.4) }}
    >
      {initials(props.name)}
    </span>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <span className="spinner-wrap" role="status">
      <span className="spinner" aria-hidden="true" />
      {props.label && <span>{props.label}</span>}
    </span>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <div className="center-pad">
      <Spinner label={props.label ?? 'Loading…'} />
    </div>
  );
}

export function ErrorMessage(props: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div className="alert alert-error" role="alert">
      {props.title && <strong>{props.title} </strong>}
      <span>{describeError(props.error)}</span>
      {props.onRetry && (
        <button className="btn btn-small" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Kbd(props: { children: ReactNode }) {
  return <kbd className="kbd">{props.children}</kbd>;
}

export const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const modKey = isMac ? '⌘' : 'Ctrl';

export interface LoadState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (updater: T | ((prev: T | undefined) => T)) => void;
}

/** Run `load` when `deps` change; expose data / error / loading / reload. Stale results are dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): LoadState<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(null);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setDataState(value);
        setLoading(false);
      },
      (err) => {
        if (controller.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const setData = useCallback((updater: T | ((prev: T | undefined) => T)) => {
    setDataState((prev) => (typeof updater === 'function' ? (updater as (p: T | undefined) => T)(prev) : updater));
  }, []);
  return { data, error, loading, reload, setData };
}

/** Relative time like "3 min ago". */
export function timeAgo(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 30) return `${d} d ago`;
  return new Date(t).toLocaleDateString();
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}
