// The playback page, `/p/{slug}/recordings/{id}?t=<ms from the start>` (SPEC §7): the pad as it
// was at any instant of a recording — files in a read-only editor, the run output, chat and
// terminal output — with a time-proportional scrubber, one track per participant (and the
// terminal's), play/pause, 0.5×–8× and idle gaps capped.
// Keyboard: Space plays/pauses, ←/→ step to the previous/next change, Shift+←/→ jump 10 s.
// Lazily loaded (its own chunk; the editor part shares the Monaco chunk).
import { lazy, Suspense, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore, type UIEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { describeError, type TimelineEvent } from '../../api';
import { copyText } from '../../ui/clipboard';
import { ErrorMessage, Kbd, Loading, Spinner } from '../../ui/common';
import { AppHeader } from '../../ui/Header';
import { StepBackIcon, StepForwardIcon } from '../../ui/icons';
import { useStore } from '../../ui/store';
import { useTheme } from '../../ui/theme';
import { toast } from '../../ui/toast';
import { useLanguages } from '../pad/useLanguages';
import { formatClock, formatInstant, formatSpan } from '../recordings/format';
import { SPEEDS } from './clock';
import { PlaybackController, isForbidden, isMissing } from './controller';
import { authorsOf, chatThrough, describeRun, markersOf, runAt, tracksOf, type Marker, type Track } from './derive';
import { TerminalTranscript } from './terminalText';
import { countThrough, type TimelineSnapshot } from './timeline';
import Tracks from './Tracks';
import { personColor } from '../../ui/personColor';

const PlaybackEditor = lazy(() => import('./PlaybackEditor'));
const WhiteboardPanel = lazy(() => import('../whiteboard/WhiteboardPanel'));

type SideTab = 'chat' | 'output' | 'terminal' | 'events';
const EMPTY_SNAPSHOT: TimelineSnapshot = { events: [], hasMore: true, loading: false, error: null, through: -Infinity };
const MAX_MARKERS = 400;

function useTimeline(controller: PlaybackController): TimelineSnapshot {
  const loader = useStore(controller.store, () => controller.loader);
  return useSyncExternalStore(
    (l) => (loader ? loader.subscribe(l) : () => undefined),
    () => (loader ? loader.snapshot() : EMPTY_SNAPSHOT),
  );
}

function isTextField(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el?.closest) return false;
  if (el.closest('.monaco-editor')) return true;
  if (el.matches('input[type="range"]')) return false;
  return !!el.closest('input, textarea, select, [contenteditable="true"]');
}

export default function PlaybackPage() {
  const { slug = '', id = '' } = useParams();
  const [params] = useSearchParams();
  const recordingId = Number.parseInt(id, 10);
  const [controller, setController] = useState<PlaybackController | null>(null);

  useEffect(() => {
    const offset = Number(params.get('t') ?? 0);
    const c = new PlaybackController(slug, recordingId);
    setController(c);
    void c.open(Number.isFinite(offset) ? offset : 0);
    return () => c.destroy();
    // The `t` in the URL is read once; later changes come from this page itself.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [slug, recordingId]);

  if (!Number.isFinite(recordingId) || recordingId <= 0) return <Problem slug={slug} error={{ kind: 'missing' }} />;
  if (!controller) return null;
  return <PlaybackView controller={controller} />;
}

function Problem(props: { slug: string; error: unknown }) {
  const { slug, error } = props;
  let title = "Couldn't open this recording.";
  let body: string = describeError(error);
  if (isForbidden(error)) {
    title = "Your role can't watch playback.";
    body =
      "Candidates can't watch recordings of this pad (an interview's recording includes the interviewers' side). " +
      (error instanceof Error && error.message ? `The server said: ${error.message.replace(/\.?$/, '.')}` : '');
  } else if (isMissing(error)) {
    title = 'Recording not found';
    body = "This recording doesn't exist, was deleted, or belongs to a pad you can't open.";
  }
  return (
    <>
      <AppHeader />
      <main className="page narrow">
        <div className="card stack" data-testid="playback-problem">
          <h1>{title}</h1>
          <p className="alert alert-error" role="alert">
            {body}
          </p>
          <div className="row">
            {!isForbidden(error) && !isMissing(error) && (
              <button className="btn btn-primary" onClick={() => window.location.reload()}>
                Try again
              </button>
            )}
            <Link className="btn" to={`/p/${encodeURIComponent(slug)}`}>
              Back to the pad
            </Link>
            <Link className="btn btn-ghost" to="/dashboard">
              Your pads
            </Link>
          </div>
        </div>
      </main>
    </>
  );
}

function PlaybackView(props: { controller: PlaybackController }) {
  const { controller } = props;
  const phase = useStore(controller.store, (s) => s.phase);
  const error = useStore(controller.store, (s) => s.error);
  if (phase === 'loading') {
    return (
      <>
        <AppHeader />
        <Loading label="Opening the recording…" />
      </>
    );
  }
  if (phase === 'error') return <Problem slug={controller.slug} error={error} />;
  return <Player controller={controller} />;
}

function Player(props: { controller: PlaybackController }) {
  const { controller } = props;
  const theme = useTheme();
  const languages = useLanguages();
  const navigate = useNavigate();
  const recording = useStore(controller.store, (s) => s.recording)!;
  const pad = useStore(controller.store, (s) => s.pad);
  const playbackDoc = useStore(controller.store, (s) => s.doc);
  const [view, setView] = useState<'code' | 'whiteboard'>('code');
  const start = useStore(controller.store, (s) => s.start);
  const end = useStore(controller.store, (s) => s.end);
  const t = useStore(controller.store, (s) => s.t);
  const playing = useStore(controller.store, (s) => s.playing);
  const speed = useStore(controller.store, (s) => s.speed);
  const follow = useStore(controller.store, (s) => s.follow);
  const buffering = useStore(controller.store, (s) => s.buffering);
  const docLoading = useStore(controller.store, (s) => s.docLoading);
  const docError = useStore(controller.store, (s) => s.docError);
  const files = useStore(controller.store, (s) => s.files);
  const activeFile = useStore(controller.store, (s) => s.activeFile);
  const timeline = useTimeline(controller);
  const [tab, setTab] = useState<SideTab>('output');
  const events = timeline.events;
  const n = countThrough(events, t);
  const duration = Math.max(0, end - start);
  const offset = Math.max(0, t - start);

  useEffect(() => {
    document.title = `${recording.name} · playback · opencoder`;
    return () => {
      document.title = 'opencoder — collaborative coding pads';
    };
  }, [recording.name]);

  // The instant goes into the URL (replacing, so Back leaves the page) whenever playback rests.
  useEffect(() => {
    if (playing) return;
    const timer = setTimeout(() => {
      const want = offset > 0 ? `?t=${Math.round(offset)}` : '';
      if (window.location.search !== want) navigate({ search: want }, { replace: true });
    }, 400);
    return () => clearTimeout(timer);
  }, [offset, playing, navigate]);

  // Keyboard: Space play/pause; ←/→ previous/next change; Shift+←/→ 10 s.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTextField(e.target)) return;
      if (e.key === ' ' || e.code === 'Space') {
        e.preventDefault();
        controller.toggle();
      } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        e.preventDefault();
        const dir = e.key === 'ArrowRight' ? 1 : -1;
        if (e.shiftKey) controller.jump(dir * 10_000);
        else controller.step(dir);
      } else if (e.key === 'Home') {
        e.preventDefault();
        controller.seek(controller.state.start);
      } else if (e.key === 'End') {
        e.preventDefault();
        controller.seek(controller.state.end);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [controller]);

  const markers = useMemo(() => markersOf(events), [events]);
  const authors = useMemo(() => authorsOf(events), [events]);
  const tracks = useMemo(() => tracksOf(events, duration), [events, duration]);
  const chatCount = useMemo(() => markers.filter((m) => m.kind === 'chat' && m.index < n).length, [markers, n]);
  const lastEdit = useMemo(() => {
    for (let i = n - 1; i >= 0; i--) if (events[i].kind === 'edit') return events[i];
    return null;
  }, [events, n]);

  const copyLink = async () => {
    const url = `${window.location.origin}/p/${encodeURIComponent(controller.slug)}/recordings/${controller.recordingId}${offset > 0 ? `?t=${Math.round(offset)}` : ''}`;
    const ok = await copyText(url);
    toast(ok ? `Link to ${formatClock(offset)} copied.` : `Couldn't copy. The link is ${url}`, ok ? 'success' : 'error');
  };

  return (
    <div className="playback">
      <AppHeader>
        <div className="row pad-head">
          <Link className="btn btn-ghost btn-small" to={`/p/${encodeURIComponent(controller.slug)}`} title="Back to the pad">
            ← {pad?.title ?? 'Pad'}
          </Link>
          <h1 className="pad-title-text" title={recording.name}>
            {recording.name}
          </h1>
          <span className="chip">playback</span>
          {recording.active && (
            <span className="chip chip-bad" title="Still recording: this shows up to when you opened it. Reload for later events.">
              still recording
            </span>
          )}
        </div>
      </AppHeader>
      <div className="pb-info small muted">
        Recorded {formatInstant(start)} · {formatSpan(duration)}
        {recording.createdBy ? ` · by ${recording.createdBy.name}` : ''}
        {recording.autoStarted ? ' · auto-recorded' : ''}
        {authors.length > 0 && (
          <span className="pb-authors" aria-label="Who edited">
            {authors.map((a) => (
              <span key={`${a.userId}-${a.name}`} className="pb-author">
                <span className="pb-swatch" style={{ background: personColor(a.userId, a.name) }} aria-hidden="true" />
                {a.name}
              </span>
            ))}
          </span>
        )}
        <span className="pb-keys" title="Space: play / pause · ← →: previous / next change · Shift + ← →: 10 s back / ahead">
          <Kbd>Space</Kbd> play · <Kbd>←</Kbd>
          <Kbd>→</Kbd> step
        </span>
      </div>
      <div className="pb-body">
        <aside className="pb-files" aria-label="Files at this moment">
          <div className="panel-head">
            <h2>Files</h2>
          </div>
          <ul className="file-list">
            {files.map((name) => (
              <li key={name} className={`file-item${name === activeFile ? ' active' : ''}`}>
                <button className="file-button mono" onClick={() => controller.setActiveFile(name)} aria-current={name === activeFile ? 'true' : undefined}>
                  {name}
                </button>
              </li>
            ))}
            {files.length === 0 && !docLoading && <li className="muted small rec-note">No files at this moment.</li>}
          </ul>
          <label className="check small pb-follow" title="While playing, show the file being edited">
            <input type="checkbox" checked={follow} onChange={(e) => controller.setFollow(e.target.checked)} />
            Follow edits
          </label>
        </aside>
        <section className="pb-main">
          <div className="pb-editor-head small muted">
            <span className="mono file-crumb">{activeFile ?? '—'}</span>
            {lastEdit && (
              <span>
                {' '}
                · last change by {lastEdit.userName ?? 'someone'} at {formatClock(Math.max(0, lastEdit.at - start))}
              </span>
            )}
          </div>
          <div className="side-tabs" role="tablist" aria-label="Code or whiteboard">
            {(['code', 'whiteboard'] as const).map((v) => (
              <button key={v} role="tab" aria-selected={view === v} className="side-tab" data-testid={`pb-view-tab-${v}`} onClick={() => setView(v)}>
                {v === 'code' ? 'Code' : 'Whiteboard'}
              </button>
            ))}
          </div>
          <div className="editor-wrap">
            {view === 'whiteboard' && playbackDoc ? (
              <Suspense fallback={<div className="editor-overlay"><Spinner label="Loading the whiteboard…" /></div>}>
                <WhiteboardPanel doc={playbackDoc.doc} readOnly theme={theme} />
              </Suspense>
            ) : (
              <Suspense fallback={<div className="editor-overlay"><Spinner label="Loading the editor…" /></div>}>
                <PlaybackEditor controller={controller} theme={theme} languages={languages} />
              </Suspense>
            )}
            {docLoading && (
              <div className="pb-doc-loading" role="status">
                <Spinner label={`Loading the files at ${formatClock(offset)}…`} />
              </div>
            )}
          </div>
          {docError != null && (
            <ErrorMessage error={docError} title="Couldn't load the files at this moment." onRetry={() => controller.seek(controller.state.t, { immediate: true })} />
          )}
          {timeline.error != null && (
            <ErrorMessage error={timeline.error} title="Couldn't load the rest of the timeline." onRetry={() => void controller.loader?.retry()} />
          )}
          <Controls
            controller={controller}
            offset={offset}
            duration={duration}
            playing={playing}
            speed={speed}
            buffering={buffering || (playing && docLoading)}
            markers={markers}
            start={start}
            loadedThrough={timeline.through}
            onCopyLink={() => void copyLink()}
            tracks={tracks}
          />
        </section>
        <aside className="pb-side" aria-label="What happened">
          <div className="side-tabs" role="tablist">
            <button role="tab" aria-selected={tab === 'output'} className="side-tab" onClick={() => setTab('output')}>
              Output
            </button>
            <button role="tab" aria-selected={tab === 'chat'} className="side-tab" onClick={() => setTab('chat')}>
              Chat {chatCount > 0 && <span className="muted">({chatCount})</span>}
            </button>
            <button role="tab" aria-selected={tab === 'terminal'} className="side-tab" onClick={() => setTab('terminal')}>
              Terminal
            </button>
            <button role="tab" aria-selected={tab === 'events'} className="side-tab" onClick={() => setTab('events')}>
              Events
            </button>
          </div>
          {tab === 'output' && <RunView events={events} n={n} t={t} />}
          {tab === 'chat' && <ChatView events={events} n={n} start={start} />}
          {tab === 'terminal' && <TerminalView events={events} n={n} />}
          {tab === 'events' && <EventsView markers={markers} n={n} start={start} onJump={(at) => controller.seek(at)} />}
          {timeline.hasMore && <p className="muted small rec-note">Loaded through {formatClock(Math.max(0, timeline.through - start))}…</p>}
        </aside>
      </div>
    </div>
  );
}

function Controls(props: {
  controller: PlaybackController;
  offset: number;
  duration: number;
  playing: boolean;
  speed: number;
  buffering: boolean;
  markers: Marker[];
  start: number;
  loadedThrough: number;
  onCopyLink: () => void;
  tracks: Track[];
}) {
  const { controller, offset, duration, playing, speed, markers, start } = props;
  const shown = markers.length > MAX_MARKERS ? markers.filter((m) => m.kind === 'run' || m.kind === 'chat' || m.kind === 'integrity').slice(0, MAX_MARKERS) : markers;
  const pct = (ms: number) => (duration > 0 ? Math.min(100, Math.max(0, (ms / duration) * 100)) : 0);
  const loadedPct = pct(props.loadedThrough - start);
  return (
    <div className="pb-controls">
      <div className="row wrap">
        <button
          className="btn btn-primary btn-small pb-play"
          onClick={() => controller.toggle()}
          data-testid="pb-play"
          title={playing ? 'Pause (Space)' : 'Play (Space)'}
        >
          {playing ? '❚❚ Pause' : offset >= duration && duration > 0 ? '↺ Replay' : '▶ Play'}
        </button>
        <button className="btn-icon" onClick={() => controller.step(-1)} aria-label="Previous change" title="Previous change (←)">
          <StepBackIcon />
        </button>
        <button className="btn-icon" onClick={() => controller.step(1)} aria-label="Next change" title="Next change (→)">
          <StepForwardIcon />
        </button>
        <span className="mono pb-time" data-testid="pb-time" aria-live="off">
          {formatClock(offset)} / {formatClock(duration)}
        </span>
        <span className="small muted">{formatInstant(start + offset)}</span>
        <label className="row small muted">
          Speed
          <select
            className="input input-small"
            value={String(speed)}
            aria-label="Playback speed"
            onChange={(e) => controller.setSpeed(Number(e.target.value))}
          >
            {SPEEDS.map((s) => (
              <option key={s} value={String(s)}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        {props.buffering && <Spinner label="Loading…" />}
        <span className="grow" />
        <button className="btn btn-ghost btn-small" onClick={props.onCopyLink} title="Copy a link that opens the recording at this moment">
          Copy link to {formatClock(offset)}
        </button>
      </div>
      <div className="pb-scrubber">
        <div className="pb-track" aria-hidden="true">
          <div className="pb-loaded" style={{ width: `${loadedPct}%` }} />
          {shown.map((m) => (
            <span key={m.index} className={`pb-marker pb-marker-${m.kind}`} style={{ left: `${pct(m.at - start)}%` }} title={`${formatClock(m.at - start)} · ${m.label}`} />
          ))}
        </div>
        <input
          type="range"
          className="pb-range"
          min={0}
          max={Math.max(1, duration)}
          step={1}
          value={Math.min(offset, Math.max(1, duration))}
          aria-label="Position in the recording"
          aria-valuetext={`${formatClock(offset)} of ${formatClock(duration)}`}
          data-testid="pb-scrubber"
          onChange={(e) => controller.seek(start + Number(e.target.value))}
        />
      </div>
      <Tracks tracks={props.tracks} start={start} duration={duration} onJump={(at) => controller.seek(at)} />
    </div>
  );
}

/** Stick to the bottom of a scrolling list unless the reader scrolled up. */
function useStickToBottom<E extends HTMLElement = HTMLDivElement>(dep: unknown) {
  const ref = useRef<E>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [dep]);
  const onScroll = (e: UIEvent<E>) => {
    const el = e.currentTarget;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return { ref, onScroll };
}

function RunView(props: { events: TimelineEvent[]; n: number; t: number }) {
  const run = useMemo(() => runAt(props.events, props.n, props.t), [props.events, props.n, props.t]);
  const running = run?.running ?? false;
  const key = run ? `${run.at}:${running}` : 'none';
  const view = useMemo(() => run, [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const scroll = useStickToBottom(key);
  if (!view) return <p className="muted small rec-note" data-testid="pb-output">No run yet at this moment.</p>;
  const outcome = describeRun(view);
  return (
    <div className="pb-pane">
      <div className="output-head">
        <div className="row wrap">
          <span className={`chip chip-${outcome.tone}`}>{outcome.text}</span>
          {view.finishedAt != null && !view.running && <span className="chip">{formatSpan(view.finishedAt - view.at)}</span>}
          {view.truncated && <span className="chip chip-warn">output truncated</span>}
          <span className="muted small">
            {view.entry && <span className="mono">{view.entry}</span>}
            {view.by && <> · run by {view.by}</>}
          </span>
        </div>
      </div>
      <div className="output-body mono" ref={scroll.ref} onScroll={scroll.onScroll} data-testid="pb-output">
        {view.running ? (
          <p className="muted">Running… its output appears when it finished.</p>
        ) : (
          <>
            {view.stdout && <span className="out-stdout">{view.stdout}</span>}
            {view.stderr && <span className="out-stderr">{view.stderr}</span>}
            {!view.stdout && !view.stderr && <p className="muted">(no output)</p>}
          </>
        )}
      </div>
    </div>
  );
}

function ChatView(props: { events: TimelineEvent[]; n: number; start: number }) {
  const chat = useMemo(() => chatThrough(props.events, props.n), [props.events, props.n]);
  const scroll = useStickToBottom(chat.length);
  return (
    <div className="chat-list" ref={scroll.ref} onScroll={scroll.onScroll} role="log" aria-label="Chat at this moment" data-testid="pb-chat">
      {chat.length === 0 && <p className="muted small">No chat messages yet at this moment.</p>}
      {chat.map((m, i) => (
        <div key={i} className="chat-msg">
          <div className="chat-meta">
            <span className="chat-name">{m.name}</span>
            <span className="muted small">{formatClock(m.at - props.start)}</span>
          </div>
          <div className="chat-body">{m.body}</div>
        </div>
      ))}
    </div>
  );
}

/** Terminal output up to the playhead; appended incrementally while playing forward. */
function TerminalView(props: { events: TimelineEvent[]; n: number }) {
  const { events, n } = props;
  const termIndexes = useMemo(() => {
    const out: number[] = [];
    events.forEach((e, i) => (e.kind === 'terminal' || e.kind === 'terminal.status') && out.push(i));
    return out;
  }, [events]);
  const count = useMemo(() => {
    let lo = 0;
    let hi = termIndexes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (termIndexes[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }, [termIndexes, n]);
  const cache = useRef<{ count: number; transcript: TerminalTranscript }>({ count: 0, transcript: new TerminalTranscript() });
  const text = useMemo(() => {
    let c = cache.current;
    if (count < c.count) c = cache.current = { count: 0, transcript: new TerminalTranscript() };
    for (let k = c.count; k < count; k++) {
      const ev = events[termIndexes[k]];
      if (ev.kind === 'terminal') {
        if (typeof ev.data.text === 'string') c.transcript.write(ev.data.text);
        if (ev.data.truncated === true) c.transcript.note('[the rest of this session’s output was not recorded: size limit]');
      } else {
        const state = typeof ev.data.state === 'string' ? ev.data.state : '';
        if (state === 'starting') c.transcript.note('[new shell]');
        else if (state && state !== 'running') c.transcript.note(`[terminal ${state.replace(/_/g, ' ')}]`);
      }
    }
    c.count = count;
    return c.transcript.toString();
  }, [count, events, termIndexes]);
  const scroll = useStickToBottom<HTMLPreElement>(text);
  if (count === 0) return <p className="muted small rec-note" data-testid="pb-terminal">No terminal output yet at this moment.</p>;
  return (
    <div className="pb-pane">
      <pre className="pb-terminal mono" ref={scroll.ref} onScroll={scroll.onScroll} data-testid="pb-terminal">
        {text}
      </pre>
    </div>
  );
}

function EventsView(props: { markers: Marker[]; n: number; start: number; onJump: (at: number) => void }) {
  const { markers, n, start } = props;
  if (markers.length === 0) return <p className="muted small rec-note">No runs, chat or joins in the loaded part of the recording.</p>;
  return (
    <ul className="pb-events">
      {markers.map((m) => (
        <li key={m.index} className={m.index < n ? '' : 'pb-future'}>
          <button className="pb-event" onClick={() => props.onJump(m.at)}>
            <span className={`pb-dot pb-marker-${m.kind}`} aria-hidden="true" />
            <span className="mono small">{formatClock(m.at - start)}</span> <span>{m.label}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}
