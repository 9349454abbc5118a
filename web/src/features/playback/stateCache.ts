// The pad's state at an instant, as the server rebuilt it (`GET …/state?t=&yjs=true`), cached so
// scrubbing back and forth doesn't ask again, plus the decision of how to show an instant:
// apply the already-loaded edits to the document we have, start from a cached state and apply
// edits, or ask the server (pure; unit-tested).
import type { RecordingState } from '../../api';

/** Rough size of a cached state (its Yjs state and file texts), in UTF-16 code units. */
function weight(state: RecordingState): number {
  let n = state.yjsState?.length ?? 0;
  for (const text of Object.values(state.files ?? {})) n += text.length;
  return n;
}

export class StateCache {
  private readonly entries = new Map<number, RecordingState>();

  /** At most `max` entries and about `budget` characters (a big pad holds fewer states). */
  constructor(
    private readonly max = 24,
    private readonly budget = 16 * 1024 * 1024,
  ) {}

  private total(): number {
    let n = 0;
    for (const [key, state] of this.entries) if (key === state.t || !this.entries.has(state.t)) n += weight(state);
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The state the server returned for exactly `t` (asked or answered), if cached. */
  get(t: number): RecordingState | undefined {
    const hit = this.entries.get(t);
    if (hit) {
      // Most recently used last.
      this.entries.delete(t);
      this.entries.set(t, hit);
    }
    return hit;
  }

  /** Remember a state under the instant asked for and the instant the server answered for. */
  put(asked: number, state: RecordingState): void {
    for (const key of new Set([asked, state.t])) {
      this.entries.delete(key);
      this.entries.set(key, state);
    }
    while (this.entries.size > this.max || (this.entries.size > 2 && this.total() > this.budget)) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
  }

  /** The cached state nearest before (or at) `t` that carries a Yjs state, if any. */
  nearestAtOrBefore(t: number): { t: number; state: RecordingState } | undefined {
    let best: RecordingState | undefined;
    for (const state of this.entries.values()) {
      if (state.yjsState == null || state.t > t) continue;
      if (!best || state.t > best.t) best = state;
    }
    return best ? { t: best.t, state: best } : undefined;
  }
}

export type SeekPlan =
  | { kind: 'local' }
  | { kind: 'cached'; base: RecordingState }
  | { kind: 'fetch' };

export interface SeekInput {
  target: number;
  /** The instant the document we hold shows (null: none yet). */
  docAt: number | null;
  /** Loaded edits are complete through this instant. */
  loadedThrough: number;
  /** Loaded edit events in (from, to]. */
  editsBetween: (from: number, to: number) => number;
  cache: StateCache;
  /** Most edits to apply locally instead of asking the server. */
  maxLocalEdits?: number;
}

/** How to show `target`: forward from what we hold, from a cached state, or ask the server. */
export function planSeek(input: SeekInput): SeekPlan {
  const max = input.maxLocalEdits ?? 3000;
  const { target } = input;
  const loaded = target <= input.loadedThrough;
  if (input.docAt != null && input.docAt <= target && loaded && input.editsBetween(input.docAt, target) <= max) {
    return { kind: 'local' };
  }
  const exact = input.cache.get(target);
  if (exact?.yjsState != null) return { kind: 'cached', base: exact };
  const near = input.cache.nearestAtOrBefore(target);
  if (near && loaded && input.editsBetween(near.t, target) <= max) return { kind: 'cached', base: near.state };
  return { kind: 'fetch' };
}
