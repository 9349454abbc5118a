// The pad's recordings as the workspace sees them: the list, the auto-record setting and whether
// one is active (for the "● Recording" header indicator). The workspace refreshes it when the pad
// socket says `recordings.changed` and when the socket (re)connects; polling (every 30 s while
// the tab is visible, at once when it becomes visible again) is the safety net for pushes missed
// while disconnected. Roles that may not watch playback (candidates) get 403; the watcher then
// stops asking.
import { api, describeError, isApiError, type RecordingList, type RecordingView } from '../../api';
import { Store } from '../../ui/store';

export const POLL_MS = 30_000;

export interface RecordingsState {
  recordings: RecordingView[];
  autoRecord: boolean;
  /** The first answer arrived. */
  loaded: boolean;
  /** The last poll failed (in words); the list shown is the last good one. */
  error: string | null;
  /** The server refused (403): this role can't see recordings. */
  forbidden: boolean;
}

/** The active recording of a list, if any (the server allows one per pad). */
export function activeRecording(list: RecordingView[]): RecordingView | null {
  return list.find((r) => r.active) ?? null;
}

/** Put a recording the server just returned into the list (newest first), replacing its old copy. */
export function upsertRecording(list: RecordingView[], rec: RecordingView): RecordingView[] {
  const rest = list.filter((r) => r.id !== rec.id);
  return [rec, ...rest].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
}

export class RecordingsWatcher {
  readonly store = new Store<RecordingsState>({ recordings: [], autoRecord: false, loaded: false, error: null, forbidden: false });
  private timer: ReturnType<typeof setTimeout> | null = null;
  private controller: AbortController | null = null;
  private running = false;
  private seq = 0;

  constructor(
    readonly slug: string,
    private readonly list: (slug: string, signal: AbortSignal) => Promise<RecordingList> = (s, sig) => api.recordings.list(s, sig),
    private readonly intervalMs = POLL_MS,
  ) {}

  start() {
    if (this.running) return;
    this.running = true;
    this.store.set({ forbidden: false });
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.onVisibility);
    void this.refresh();
  }

  stop() {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onVisibility);
  }

  private onVisibility = () => {
    if (!document.hidden) void this.refresh();
  };

  /** Ask now (and restart the poll interval). */
  async refresh(): Promise<void> {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const seq = ++this.seq;
    try {
      const res = await this.list(this.slug, controller.signal);
      if (seq !== this.seq) return;
      this.store.set({
        recordings: Array.isArray(res.recordings) ? res.recordings : [],
        autoRecord: !!res.autoRecord,
        loaded: true,
        error: null,
        forbidden: false,
      });
    } catch (err) {
      if (seq !== this.seq || controller.signal.aborted) return;
      if (isApiError(err) && err.status === 403) {
        this.store.set({ forbidden: true, loaded: true, recordings: [], error: null });
        this.running = false;
        return;
      }
      this.store.set({ error: describeError(err), loaded: true });
    }
    this.schedule();
  }

  private schedule() {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (typeof document !== 'undefined' && document.hidden) {
        this.schedule();
        return;
      }
      void this.refresh();
    }, this.intervalMs);
  }

  /** Adopt a recording the server returned from our own start/stop. */
  adopt(rec: RecordingView) {
    this.store.set((s) => ({ recordings: upsertRecording(s.recordings, rec) }));
  }

  forget(id: number) {
    this.store.set((s) => ({ recordings: s.recordings.filter((r) => r.id !== id) }));
  }

  setAutoRecord(on: boolean) {
    this.store.set({ autoRecord: on });
  }
}
