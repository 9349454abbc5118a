// The playback of one recording, without React: what is loaded, where the playhead is, whether it
// plays, and the document at the playhead. The page renders its `store` and the timeline
// loader's snapshots; the editor renders `doc`.
//
// Showing an instant (`seek`): apply loaded edits forward to the document we hold when it is
// behind the instant; otherwise start from a cached server state; otherwise ask the server for
// the state at that instant (`GET …/state?t=&yjs=true`, rebuilt from its checkpoints), debounced
// while the scrubber is dragged. Playing moves the playhead with the clock (speed, idle gaps
// capped) and applies edits as it passes them; it waits ("buffering") while the next timeline
// page or a state is on its way.
import { api, isApiError, type Pad, type PadFile, type RecordingState, type RecordingView, type TimelineEvent } from '../../api';
import { Store } from '../../ui/store';
import { activityTimes, listedFilesThrough, visibleFiles, type FileEntry } from './derive';
import { advance, nextTime, prevTime } from './clock';
import { PlaybackDoc } from './playbackDoc';
import { StateCache, planSeek } from './stateCache';
import { countThrough, countTimesThrough, TimelineLoader } from './timeline';

export const PAGE_SIZE = 500;
/** Quiet time before a dragged scrubber asks the server for the state. */
export const SEEK_DEBOUNCE_MS = 150;
/** Keep the timeline loaded this far ahead of the playhead (recording ms, × speed). */
const LOOKAHEAD_MS = 15_000;
/** A frame longer than this (a background tab) counts as this long. */
const MAX_FRAME_MS = 250;

export interface PlaybackState {
  phase: 'loading' | 'ready' | 'error';
  /** Why the recording could not be opened (phase `error`). */
  error: unknown;
  recording: RecordingView | null;
  pad: Pad | null;
  start: number;
  end: number;
  /** The playhead, ms since the epoch. */
  t: number;
  playing: boolean;
  speed: number;
  /** While playing, show the file being edited. */
  follow: boolean;
  /** Waiting for the state or the next timeline page. */
  buffering: boolean;
  /** The state at the playhead is being fetched. */
  docLoading: boolean;
  docError: unknown;
  doc: PlaybackDoc | null;
  /** Files shown at the playhead. */
  files: string[];
  activeFile: string | null;
  /** Language id per file name (latest known). */
  languages: Record<string, string>;
}

export interface PlaybackDeps {
  listRecordings: (slug: string) => Promise<{ recordings: RecordingView[] }>;
  getPad: (slug: string) => Promise<{ pad: Pad; files: PadFile[] }>;
  fetchPage: (slug: string, id: number, after: string | undefined, signal: AbortSignal) => Promise<import('../../api').TimelinePage>;
  fetchState: (slug: string, id: number, t: number, signal: AbortSignal) => Promise<RecordingState>;
  now: () => number;
  requestFrame: (cb: (now: number) => void) => number;
  cancelFrame: (id: number) => void;
}

const defaultDeps: PlaybackDeps = {
  listRecordings: (slug) => api.recordings.list(slug),
  getPad: (slug) => api.pads.get(slug),
  fetchPage: (slug, id, after, signal) => api.recordings.timeline(slug, id, after, PAGE_SIZE, signal),
  fetchState: (slug, id, t, signal) => api.recordings.state(slug, id, t, signal),
  now: () => Date.now(),
  requestFrame: (cb) => requestAnimationFrame(cb),
  cancelFrame: (id) => cancelAnimationFrame(id),
};

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class PlaybackController {
  readonly store: Store<PlaybackState>;
  loader: TimelineLoader | null = null;
  readonly cache = new StateCache();
  private readonly deps: PlaybackDeps;
  private frame: number | null = null;
  private lastFrame = 0;
  private seekTimer: ReturnType<typeof setTimeout> | null = null;
  private stateController: AbortController | null = null;
  private seekSeq = 0;
  private baseListed: FileEntry[] | null = null;
  private timesFor: TimelineEvent[] | null = null;
  private times: number[] = [];
  private unsubscribe: (() => void) | null = null;
  private destroyed = false;

  constructor(
    readonly slug: string,
    readonly recordingId: number,
    deps: Partial<PlaybackDeps> = {},
  ) {
    this.deps = { ...defaultDeps, ...deps };
    this.store = new Store<PlaybackState>({
      phase: 'loading',
      error: null,
      recording: null,
      pad: null,
      start: 0,
      end: 0,
      t: 0,
      playing: false,
      speed: 1,
      follow: true,
      buffering: false,
      docLoading: false,
      docError: null,
      doc: null,
      files: [],
      activeFile: null,
      languages: {},
    });
  }

  get state(): PlaybackState {
    return this.store.get();
  }

  /** Load the recording and show the instant `offsetMs` after its start. */
  async open(offsetMs: number): Promise<void> {
    try {
      const [list, detail] = await Promise.all([this.deps.listRecordings(this.slug), this.deps.getPad(this.slug)]);
      if (this.destroyed) return;
      const recording = list.recordings.find((r) => r.id === this.recordingId);
      if (!recording) {
        this.store.set({ phase: 'error', error: { kind: 'missing' } });
        return;
      }
      const start = recording.startedAt;
      const end = Math.max(start, recording.endedAt ?? this.deps.now());
      const languages: Record<string, string> = {};
      for (const f of detail.files ?? []) languages[f.name] = f.language;
      this.padFiles = detail.files ?? [];
      this.loader = new TimelineLoader((after, signal) => this.deps.fetchPage(this.slug, this.recordingId, after, signal), start, end);
      this.unsubscribe = this.loader.subscribe(this.onTimeline);
      const t = Math.min(end, start + Math.max(0, Number.isFinite(offsetMs) ? offsetMs : 0));
      this.store.set({ phase: 'ready', recording, pad: detail.pad, start, end, t, languages });
      void this.loader.ensure(t + LOOKAHEAD_MS);
      this.seek(t, { immediate: true });
    } catch (err) {
      if (this.destroyed) return;
      this.store.set({ phase: 'error', error: err });
    }
  }

  destroy() {
    this.destroyed = true;
    this.stopLoop();
    if (this.seekTimer) clearTimeout(this.seekTimer);
    this.stateController?.abort();
    this.unsubscribe?.();
    this.loader?.destroy();
    this.state.doc?.destroy();
  }

  /** Sorted activity instants of the loaded events (memoised on the events array). */
  activity(): number[] {
    const events = this.loader?.snapshot().events ?? [];
    if (events !== this.timesFor) {
      this.timesFor = events;
      this.times = activityTimes(events);
    }
    return this.times;
  }

  private onTimeline = () => {
    // New events may complete what the document needs: catch up to the playhead.
    const s = this.state;
    if (s.doc && !s.docLoading) this.applyTo(s.t);
    if (s.buffering && !s.playing) this.store.set({ buffering: false });
  };

  // --- showing an instant ------------------------------------------------------------------------

  seek(target: number, opts: { immediate?: boolean } = {}) {
    const s = this.state;
    if (s.phase !== 'ready' || !this.loader) return;
    const t = Math.min(s.end, Math.max(s.start, Math.round(target)));
    this.store.set({ t });
    void this.loader.ensure(t + LOOKAHEAD_MS);
    const snap = this.loader.snapshot();
    const events = snap.events;
    const plan = planSeek({
      target: t,
      docAt: s.docLoading ? null : s.doc?.at ?? null,
      loadedThrough: snap.through,
      editsBetween: (from, to) => countThrough(events, to) - countThrough(events, from),
      cache: this.cache,
    });
    if (plan.kind === 'local') {
      this.cancelPendingSeek();
      this.applyTo(t);
    } else if (plan.kind === 'cached') {
      this.cancelPendingSeek();
      this.rebase(plan.base);
    } else {
      this.scheduleFetch(t, opts.immediate ? 0 : SEEK_DEBOUNCE_MS);
    }
  }

  private cancelPendingSeek() {
    if (this.seekTimer) clearTimeout(this.seekTimer);
    this.seekTimer = null;
    this.stateController?.abort();
    this.stateController = null;
    this.seekSeq++;
    if (this.state.docLoading) this.store.set({ docLoading: false });
  }

  private scheduleFetch(t: number, delay: number) {
    if (this.seekTimer) clearTimeout(this.seekTimer);
    this.store.set({ docLoading: true, docError: null });
    const seq = ++this.seekSeq;
    this.seekTimer = setTimeout(() => {
      this.seekTimer = null;
      void this.fetchState(t, seq);
    }, delay);
  }

  private async fetchState(t: number, seq: number) {
    this.stateController?.abort();
    const controller = new AbortController();
    this.stateController = controller;
    try {
      const state = await this.deps.fetchState(this.slug, this.recordingId, t, controller.signal);
      if (controller.signal.aborted || this.destroyed) return;
      this.cache.put(t, state);
      if (seq !== this.seekSeq) return;
      this.store.set({ docLoading: false });
      this.rebase(state);
    } catch (err) {
      if (controller.signal.aborted || this.destroyed || seq !== this.seekSeq) return;
      this.store.set({ docLoading: false, docError: err, playing: false, buffering: false });
      this.stopLoop();
    }
  }

  /** Start over from a server state, then catch up to the playhead with loaded edits. */
  private rebase(state: RecordingState) {
    const doc = new PlaybackDoc(state.yjsState, state.t);
    const old = this.state.doc;
    const names = Object.keys(state.files ?? {});
    const events = this.loader?.snapshot().events ?? [];
    const listedBefore = listedFilesThrough(events, countThrough(events, state.t));
    const languages = this.state.languages;
    this.baseListed = listedBefore ?? names.map((name) => ({ name, language: languages[name] ?? '' }));
    this.store.set({ doc, docError: null });
    old?.destroy();
    this.applyTo(this.state.t, true);
  }

  /** Apply loaded edits up to `t` (never past what is loaded); refresh the file list. */
  private applyTo(t: number, force = false) {
    const s = this.state;
    const doc = s.doc;
    if (!doc || !this.loader) return;
    const snap = this.loader.snapshot();
    const target = Math.min(t, snap.through);
    const applied = target > doc.at ? doc.applyThrough(snap.events, target) : [];
    if (!force && applied.length === 0 && !this.filesEventPassed(snap.events, doc.at)) return;
    this.refreshFiles(snap.events, doc, applied);
  }

  /** The pad's files today: names for ids no `files` event of the recording lists. */
  private padFiles: readonly { id?: number; name: string }[] = [];
  private lastFilesCount = -1;
  private filesTimesFor: TimelineEvent[] | null = null;
  private filesTimes: number[] = [];
  /** Whether the number of `files` events at or before `at` changed since the last look. */
  private filesEventPassed(events: TimelineEvent[], at: number): boolean {
    if (events !== this.filesTimesFor) {
      this.filesTimesFor = events;
      this.filesTimes = events.filter((e) => e.kind === 'files').map((e) => e.at);
    }
    const count = countTimesThrough(this.filesTimes, at);
    const changed = count !== this.lastFilesCount;
    this.lastFilesCount = count;
    return changed;
  }

  private refreshFiles(events: readonly TimelineEvent[], doc: PlaybackDoc, applied: TimelineEvent[]) {
    const s = this.state;
    const listedNow = listedFilesThrough(events, countThrough(events, doc.at)) ?? this.baseListed;
    const languages = { ...s.languages };
    let langChanged = false;
    for (const f of listedNow ?? []) {
      if (f.language && languages[f.name] !== f.language) {
        languages[f.name] = f.language;
        langChanged = true;
      }
    }
    doc.setFileIds(this.padFiles);
    doc.setFileIds(listedNow ?? []);
    const texts = doc.fileNames().map((name) => ({ name, length: doc.text(name).length }));
    const files = visibleFiles(listedNow, texts);
    let activeFile = s.activeFile;
    if (s.follow && s.playing && applied.length) {
      const last = applied[applied.length - 1];
      const touched = Array.isArray(last.data.files) ? (last.data.files as unknown[]).find((f): f is string => typeof f === 'string' && files.includes(f)) : undefined;
      if (touched) activeFile = touched;
    }
    if (!activeFile || !files.includes(activeFile)) activeFile = files[0] ?? null;
    const patch: Partial<PlaybackState> = {};
    if (!sameList(files, s.files)) patch.files = files;
    if (activeFile !== s.activeFile) patch.activeFile = activeFile;
    if (langChanged) patch.languages = languages;
    if (Object.keys(patch).length) this.store.set(patch);
  }

  // --- playing -----------------------------------------------------------------------------------

  play() {
    const s = this.state;
    if (s.phase !== 'ready' || s.playing) return;
    if (s.t >= s.end) this.seek(s.start);
    this.store.set({ playing: true, docError: null });
    this.lastFrame = 0;
    this.frame = this.deps.requestFrame(this.tick);
  }

  pause() {
    this.stopLoop();
    if (this.state.playing || this.state.buffering) this.store.set({ playing: false, buffering: false });
  }

  toggle() {
    if (this.state.playing) this.pause();
    else this.play();
  }

  private stopLoop() {
    if (this.frame != null) this.deps.cancelFrame(this.frame);
    this.frame = null;
  }

  private tick = (now: number) => {
    this.frame = null;
    const s = this.state;
    if (!s.playing || this.destroyed || !this.loader) return;
    const dt = this.lastFrame ? Math.min(MAX_FRAME_MS, now - this.lastFrame) : 0;
    this.lastFrame = now;
    const snap = this.loader.snapshot();
    if (s.docLoading || !s.doc) {
      if (!s.buffering) this.store.set({ buffering: true });
    } else {
      const t = advance({ t: s.t, dtMs: dt, speed: s.speed, times: this.activity(), start: s.start, end: s.end, limit: snap.through });
      const waiting = t >= snap.through && t < s.end;
      void this.loader.ensure(t + LOOKAHEAD_MS * Math.max(1, s.speed));
      const patch: Partial<PlaybackState> = {};
      if (t !== s.t) patch.t = t;
      if (waiting !== s.buffering) patch.buffering = waiting && (snap.loading || snap.hasMore);
      if (Object.keys(patch).length) this.store.set(patch);
      this.applyTo(t);
      if (t >= s.end) {
        this.store.set({ playing: false, buffering: false });
        return;
      }
      if (snap.error) {
        this.store.set({ playing: false, buffering: false });
        return;
      }
    }
    this.frame = this.deps.requestFrame(this.tick);
  };

  setSpeed(speed: number) {
    if (speed > 0 && Number.isFinite(speed)) this.store.set({ speed });
  }

  setFollow(follow: boolean) {
    this.store.set({ follow });
  }

  setActiveFile(name: string) {
    this.store.set({ activeFile: name, follow: false });
  }

  /** Step to the next (+1) or previous (-1) moment of activity. */
  step(direction: 1 | -1) {
    const s = this.state;
    if (s.phase !== 'ready') return;
    this.pause();
    const times = this.activity();
    this.seek(direction > 0 ? nextTime(times, s.t, s.end) : prevTime(times, s.t, s.start));
  }

  /** Jump by `ms` of recording time. */
  jump(ms: number) {
    this.seek(this.state.t + ms);
  }
}

/** A 403 means this role may not watch playback (candidates). */
export function isForbidden(err: unknown): boolean {
  return isApiError(err) && err.status === 403;
}

export function isMissing(err: unknown): boolean {
  return (!!err && typeof err === 'object' && (err as { kind?: unknown }).kind === 'missing') || (isApiError(err) && err.status === 404);
}
