// A recording's timeline, fetched lazily a page at a time (SPEC §7: timelines are paginated).
// The server's cursor is opaque; pages come in time order and each event exactly once, but the
// merge below still de-duplicates and keeps time order, so a retried page can't corrupt playback.
// Pure helpers are exported for the unit tests.
import type { TimelineEvent, TimelinePage } from '../../api';

/** A stable identity for events that have one (edits, chat, runs), else null. */
export function eventKey(ev: TimelineEvent): string | null {
  const d = ev.data ?? {};
  switch (ev.kind) {
    case 'edit':
      return d.updateId != null ? `e:${String(d.updateId)}` : null;
    case 'chat':
      return d.messageId != null ? `c:${String(d.messageId)}` : null;
    case 'run':
      return d.runId != null ? `r:${String(d.runId)}` : null;
    default:
      return null;
  }
}

/** Number of events with `at <= t` (events sorted by `at`). */
export function countThrough(events: readonly { at: number }[], t: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid].at <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values `<= t` in a sorted number array. */
export function countTimesThrough(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Add a page to what is loaded: drops events already present (by key), keeps time order (stable:
 * events of one millisecond stay in server order). Returns `existing` itself when nothing is new.
 */
export function mergeEvents(existing: TimelineEvent[], incoming: readonly TimelineEvent[]): TimelineEvent[] {
  if (incoming.length === 0) return existing;
  const seen = new Set<string>();
  for (const ev of existing) {
    const k = eventKey(ev);
    if (k) seen.add(k);
  }
  const fresh: TimelineEvent[] = [];
  for (const ev of incoming) {
    if (!ev || typeof ev.at !== 'number' || typeof ev.kind !== 'string') continue;
    const k = eventKey(ev);
    if (k) {
      if (seen.has(k)) continue;
      seen.add(k);
    }
    fresh.push(ev);
  }
  if (fresh.length === 0) return existing;
  const last = existing.length ? existing[existing.length - 1].at : -Infinity;
  const inOrder = fresh.every((ev, i) => ev.at >= (i === 0 ? last : fresh[i - 1].at));
  if (inOrder) return existing.concat(fresh);
  // Out of order (should not happen): a stable sort of the whole list keeps it correct.
  return existing
    .concat(fresh)
    .map((ev, i) => ({ ev, i }))
    .sort((a, b) => a.ev.at - b.ev.at || a.i - b.i)
    .map((x) => x.ev);
}

/**
 * Up to which instant the loaded events are complete. Events sharing the last loaded millisecond
 * may continue on the next page, so that millisecond is not yet complete.
 */
export function loadedThrough(events: readonly TimelineEvent[], hasMore: boolean, windowEnd: number, windowStart: number): number {
  if (!hasMore) return windowEnd;
  if (events.length === 0) return windowStart - 1;
  return events[events.length - 1].at - 1;
}

export type FetchPage = (after: string | undefined, signal: AbortSignal) => Promise<TimelinePage>;

export interface TimelineSnapshot {
  events: TimelineEvent[];
  hasMore: boolean;
  loading: boolean;
  error: unknown;
  /** Events are complete through this instant (ms since the epoch). */
  through: number;
}

/** Loads pages on demand (`ensure(t)`), one request at a time, and tells listeners. */
export class TimelineLoader {
  private events: TimelineEvent[] = [];
  private cursor: string | undefined = undefined;
  private hasMore = true;
  private loading = false;
  private error: unknown = null;
  private wanted = -Infinity;
  private readonly listeners = new Set<() => void>();
  private readonly controller = new AbortController();
  private snap: TimelineSnapshot;
  /** Pages fetched so far (for tests and the status line). */
  pages = 0;

  constructor(
    private readonly fetchPage: FetchPage,
    readonly windowStart: number,
    readonly windowEnd: number,
  ) {
    this.snap = this.makeSnapshot();
  }

  private makeSnapshot(): TimelineSnapshot {
    return {
      events: this.events,
      hasMore: this.hasMore,
      loading: this.loading,
      error: this.error,
      through: loadedThrough(this.events, this.hasMore, this.windowEnd, this.windowStart),
    };
  }

  snapshot = (): TimelineSnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private emit() {
    this.snap = this.makeSnapshot();
    this.listeners.forEach((l) => l());
  }

  /** Load pages until events are complete through `t` (or the end). Resolves when done or failed. */
  async ensure(t: number): Promise<void> {
    this.wanted = Math.max(this.wanted, Math.min(t, this.windowEnd));
    if (this.loading) return;
    while (this.hasMore && !this.error && this.snap.through < this.wanted && !this.controller.signal.aborted) {
      this.loading = true;
      this.emit();
      try {
        const page = await this.fetchPage(this.cursor, this.controller.signal);
        if (this.controller.signal.aborted) return;
        this.pages += 1;
        this.events = mergeEvents(this.events, Array.isArray(page.events) ? page.events : []);
        const stuck = page.hasMore && (page.nextCursor === this.cursor || !page.nextCursor);
        this.cursor = page.nextCursor || this.cursor;
        this.hasMore = !!page.hasMore && !stuck;
      } catch (err) {
        if (this.controller.signal.aborted) return;
        this.error = err;
      }
      this.loading = false;
      this.emit();
    }
  }

  /** After a failed page: try again from where it stopped. */
  retry(): Promise<void> {
    this.error = null;
    this.emit();
    return this.ensure(this.wanted);
  }

  destroy() {
    this.controller.abort();
    this.listeners.clear();
  }
}
