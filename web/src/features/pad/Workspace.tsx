import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, can, describeError, type PadDetail } from '../../api';
import { ErrorMessage, Kbd, Spinner } from '../../ui/common';
import { Modal } from '../../ui/Modal';
import { ChatIcon, PeopleIcon, RecordIcon, TerminalIcon } from '../../ui/icons';
import { AppHeader } from '../../ui/Header';
import { useNarrow } from '../../ui/media';
import { DRAWER_SHARE, FILES_WIDTH, SIDE_WIDTH } from '../../ui/prefs';
import { Splitter } from '../../ui/Splitter';
import { useStore } from '../../ui/store';
import { useTheme } from '../../ui/theme';
import { toast } from '../../ui/toast';
import { session as authSession, useUser } from '../auth/session';
import { ChatPanel } from '../chat/ChatPanel';
import { MembersPanel } from '../members/MembersPanel';
import { RecordingIndicator, RecordingsPanel } from '../recordings/RecordingsPanel';
import { OutputPanel } from '../run/OutputPanel';
import { isReplShortcut } from '../run/repl';
import { RerunDialog, RunButtons, useRunControls } from '../run/RunControls';
import { EditorPrefsForm, useMyPrefs } from '../settings/EditorPrefs';
import { ShareDialog } from '../share/ShareDialog';
import { ConnectionChip, PresenceAvatars } from './Presence';
import { FilesPanel } from './FilesPanel';
import { FileLanguage } from './FileLanguage';
import { PadSession } from './padSession';
import { ShortcutsHelp } from './ShortcutsHelp';
import { SyncFilesButton } from './SyncFilesButton';
import { TitleEditor } from './TitleEditor';
import { Banners, ClosedScreen } from './Banners';
import { useHealth, useRecordingsWatcher } from './workspaceHooks';
import { useLanguages } from './useLanguages';
import { heldBy } from '../interview/interviewApi';
import { useInterview } from '../interview/useInterview';

const CodeEditor = lazy(() => import('../../editor/CodeEditor'));
// xterm.js and the terminal socket load only when someone opens the terminal.
const TerminalPanel = lazy(() => import('../terminal/TerminalPanel'));
// The prompt's Markdown renderer and sanitiser load only on interview pads.
const InterviewPanel = lazy(() => import('../interview/InterviewPanel'));
// Excalidraw is large: its chunk loads only when the whiteboard is first opened.
const WhiteboardPanel = lazy(() => import('../whiteboard/WhiteboardPanel'));

type SidePanel = 'chat' | 'people' | 'recordings' | 'interview';
type DrawerTab = 'output' | 'terminal';

const SIDE_LABEL: Record<SidePanel, string> = { chat: 'Chat', people: 'People', recordings: 'Recordings', interview: 'Interview' };
type NarrowPane = 'code' | 'files' | SidePanel;
/** A narrow screen's tabs: its panes, and the whiteboard (the code pane showing the board). */
type PaneTab = NarrowPane | 'board';
const PANE_LABEL: Record<PaneTab, string> = { code: 'Code', board: 'Board', files: 'Files', ...SIDE_LABEL };
/** The drag handles on the code column's edges: the files panel on its left, the side panel on its right. */
const COLUMN_SPLITTERS = [
  { key: 'filesWidth', sign: 1, range: FILES_WIDTH, label: 'Resize the files panel', className: 'splitter-start', testId: 'split-files' },
  { key: 'sideWidth', sign: -1, range: SIDE_WIDTH, label: 'Resize the side panel', className: 'splitter-end', testId: 'split-side' },
] as const;
/** On a narrow screen the output takes at most this share of the code pane: the editor keeps the larger part. */
const NARROW_DRAWER_MAX_SHARE = 0.35;

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el?.closest?.('input, textarea, select, [contenteditable="true"], .monaco-editor');
}

export function Workspace(props: { detail: PadDetail }) {
  const user = useUser();
  const [session, setSession] = useState<PadSession | null>(null);

  // One session per mounted workspace (created in an effect so StrictMode's double mount is clean).
  useEffect(() => {
    const s = new PadSession(props.detail, user?.id ?? null);
    setSession(s);
    return () => s.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.detail.pad.slug]);

  if (!session) return null;
  return <WorkspaceView session={session} />;
}

function WorkspaceView(props: { session: PadSession }) {
  const { session } = props;
  const navigate = useNavigate();
  const theme = useTheme();
  const languages = useLanguages();
  const health = useHealth();
  const role = useStore(session.store, (s) => s.role);
  const activeFile = useStore(session.store, (s) => s.activeFile);
  const files = useStore(session.store, (s) => s.files);
  const everSynced = useStore(session.store, (s) => s.everSynced);
  const status = useStore(session.store, (s) => s.status);
  const unread = useStore(session.store, (s) => s.unread);
  const running = useStore(session.store, (s) => !!s.run && !s.run.finished);
  const padLanguage = useStore(session.store, (s) => s.pad.language);
  const [showFiles, setShowFiles] = useState(true);
  const interview = useInterview(session);
  const [side, setSide] = useState<SidePanel | null>(session.state.pad.kind === 'interview' ? 'interview' : 'chat');
  // On a narrow screen one pane shows at a time, picked with tabs (the code, files, or a side panel).
  const narrow = useNarrow();
  const [pane, setPane] = useState<NarrowPane>('code');
  const narrowRef = useRef(narrow);
  narrowRef.current = narrow;
  const [prefs, updatePrefs] = useMyPrefs();
  const [prefsOpen, setPrefsOpen] = useState(false);
  const bodyRef = useRef<HTMLDivElement>(null);
  const mainRef = useRef<HTMLElement>(null);
  const filesShown = narrow ? pane === 'files' : showFiles;
  const sideShown: SidePanel | null = narrow ? (pane === 'code' || pane === 'files' ? null : pane) : side;
  const toggleFiles = useCallback(() => {
    if (narrowRef.current) setPane((p) => (p === 'files' ? 'code' : 'files'));
    else setShowFiles((v) => !v);
  }, []);
  const toggleSide = useCallback((panel: SidePanel) => {
    if (narrowRef.current) setPane((p) => (p === panel ? 'code' : panel));
    else setSide((v) => (v === panel ? null : panel));
  }, []);
  const [showOutput, setShowOutput] = useState(true);
  const [view, setView] = useState<'code' | 'whiteboard'>('code');
  // On a narrow screen the whiteboard has a tab of its own (the toolbar's toggle is wide-only).
  const paneTabSelected = (tab: PaneTab) =>
    tab === 'board' ? pane === 'code' && view === 'whiteboard' : tab === 'code' ? pane === 'code' && view === 'code' : pane === tab;
  const pickPaneTab = (tab: PaneTab) => {
    if (tab === 'board' || tab === 'code') setView(tab === 'board' ? 'whiteboard' : 'code');
    setPane(tab === 'board' ? 'code' : tab);
  };
  const [drawerTab, setDrawerTab] = useState<DrawerTab>('output');
  // Once opened, the terminal stays mounted (hidden with CSS) so it keeps its socket and scrollback.
  const [terminalMounted, setTerminalMounted] = useState(false);
  const [shareOpen, setShareOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const [forking, setForking] = useState(false);
  // What the interviewer's switches take from this role (the server refuses it anyway).
  const held = heldBy(interview?.interview ?? null, role);
  const canEdit = can.edit(role) && !held.edit;
  const canRun = can.run(role) && !held.run;
  const readOnly = !canEdit;
  useEffect(() => {
    if (held.terminal && drawerTab === 'terminal') setDrawerTab('output');
  }, [held.terminal, drawerTab]);
  const canWatch = can.watchPlayback(role);
  const recordings = useRecordingsWatcher(session.slug, canWatch);

  const drawerTabRef = useRef(drawerTab);
  drawerTabRef.current = drawerTab;
  const showOutputRef = useRef(showOutput);
  showOutputRef.current = showOutput;
  const canWatchRef = useRef(canWatch);
  canWatchRef.current = canWatch;

  const openTerminal = useCallback((toggle = false) => {
    setTerminalMounted(true);
    setShowOutput((open) => {
      // Toggle: a second press on an open terminal hides the drawer.
      if (toggle && open && drawerTabRef.current === 'terminal') return false;
      return true;
    });
    setDrawerTab('terminal');
  }, []);
  useEffect(() => {
    if (!canWatch && side === 'recordings') setSide(null);
    if (!canWatch && pane === 'recordings') setPane('code');
  }, [canWatch, side, pane]);
  // The server pushes `recordings.changed`; reconnecting may have missed one. Joining needs no
  // extra ask (the status every joiner gets is not a change): the watcher fetched the list when it
  // started, and asks again on each reconnect.
  const pushedRecording = useStore(session.store, (s) => s.recording);
  const live = status === 'live';
  useEffect(() => {
    if (canWatch && pushedRecording && !pushedRecording.onJoin) void recordings.refresh();
  }, [pushedRecording, canWatch, recordings]);
  const connectedBefore = useRef(false);
  useEffect(() => {
    if (!live) return;
    if (connectedBefore.current && canWatchRef.current) void recordings.refresh();
    connectedBefore.current = true;
  }, [live, recordings]);

  useEffect(() => {
    session.setChatOpen(sideShown === 'chat');
  }, [sideShown, session]);

  const padTitle = useStore(session.store, (s) => s.pad.title);
  useEffect(() => {
    document.title = `${padTitle} · opencoder`;
  }, [padTitle]);
  useEffect(
    () => () => {
      document.title = 'opencoder — collaborative coding pads';
    },
    [],
  );

  const showOutputTab = useCallback(() => {
    setShowOutput(true);
    setDrawerTab('output');
  }, []);
  const controls = useRunControls(session, showOutputTab);
  const { run, openRepl, stop } = controls;

  const fork = async () => {
    setForking(true);
    try {
      const res = await api.pads.fork(session.slug);
      const slug = res?.pad?.slug;
      if (!slug) throw new Error('The server forked the pad but did not say where the copy is.');
      toast('Forked — this is your own copy.', 'success');
      navigate(`/p/${slug}`);
    } catch (err) {
      toast(`Couldn't fork: ${describeError(err)}`, 'error');
    } finally {
      setForking(false);
    }
  };

  // Page-level shortcuts (the editor handles Ctrl/Cmd+Enter itself when focused).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === '.' && !e.shiftKey && !e.altKey) {
        // Stop works from anywhere but chat (the editor binds it itself).
        const t = e.target as HTMLElement;
        if (t.closest('.monaco-editor') || t.closest('.chat-panel')) return;
        e.preventDefault();
        stop();
        return;
      }
      if (isReplShortcut(e)) {
        const t = e.target as HTMLElement;
        // The editor binds it itself; chat and other text fields keep their keys.
        if (t.closest('.monaco-editor') || t.closest('.chat-panel') || isTyping(t)) return;
        e.preventDefault();
        openRepl();
        return;
      }
      if (mod && e.key === 'Enter') {
        const t = e.target as HTMLElement;
        // Run from the editor (handled there), the stdin box, or anywhere outside a text field; never from chat.
        if (t.closest('.monaco-editor') || t.closest('.chat-panel')) return;
        if (isTyping(t) && !t.closest('.stdin-box')) return;
        e.preventDefault();
        run();
        return;
      }
      if (e.altKey && !mod && !e.shiftKey) {
        const digit = e.code.startsWith('Digit') ? e.code.slice(5) : null;
        if (digit === '1') toggleFiles();
        else if (digit === '2') toggleSide('chat');
        else if (digit === '3') toggleSide('people');
        else if (digit === '4') {
          if (showOutputRef.current && drawerTabRef.current === 'output') setShowOutput(false);
          else showOutputTab();
        } else if (digit === '5') openTerminal(true);
        else if (digit === '6' && canWatchRef.current) toggleSide('recordings');
        else return;
        e.preventDefault();
        return;
      }
      if (e.key === '?' && !mod && !isTyping(e.target)) {
        e.preventDefault();
        setHelpOpen((v) => !v);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [run, openRepl, stop, openTerminal, toggleFiles, toggleSide, showOutputTab]);

  const active = useMemo(() => files.find((f) => f.name === activeFile) ?? null, [files, activeFile]);

  return (
    <div className="workspace">
      <AppHeader>
        <div className="row pad-head">
          <TitleEditor session={session} canEdit={can.manage(role)} />
          <span className={`chip chip-role-${role}`} data-testid="role-badge" title="Your role on this pad">
            {role === 'viewer' ? 'view only' : role}
          </span>
          <ConnectionChip session={session} />
          <RecordingIndicator watcher={canWatch ? recordings : null} pushed={pushedRecording} onOpen={() => setSide('recordings')} />
          <PresenceAvatars session={session} />
        </div>
      </AppHeader>
      <div className="pad-toolbar">
        <div className="row">
          <button className="btn-icon wide-only" aria-pressed={showFiles} title={`Files (Alt+1)`} aria-label="Toggle files" onClick={toggleFiles}>
            ☰
          </button>
          {active && <FileLanguage session={session} file={active} languages={languages} canEdit={canEdit} />}
        </div>
        <div className="row">
          <button className="btn btn-ghost btn-small wide-only" onClick={() => setHelpOpen(true)} title="Keyboard shortcuts (?)">
            <Kbd>?</Kbd> Shortcuts
          </button>
          <button className="btn-icon" aria-label="Editor settings" title="Editor settings: font size, tab width, wrap, Vim/Emacs keys" onClick={() => setPrefsOpen(true)}>
            Aa
          </button>
          {view === 'whiteboard' && readOnly && (
            <span className="chip chip-warn" data-testid="whiteboard-readonly" title="The server refuses drawing from your role">
              view only
            </span>
          )}
          <button
            className="btn btn-small wide-only"
            aria-pressed={view === 'whiteboard'}
            data-testid="whiteboard-toggle"
            title={view === 'whiteboard' ? 'Back to the code' : 'Open the shared whiteboard'}
            onClick={() => setView((v) => (v === 'whiteboard' ? 'code' : 'whiteboard'))}
          >
            {view === 'whiteboard' ? 'Code' : 'Whiteboard'}
          </button>
          {can.fork(role) && (
            <button className="btn btn-small" onClick={() => void fork()} disabled={forking} title="Make my own copy">
              {forking ? 'Forking…' : 'Fork'}
            </button>
          )}
          {can.manage(role) && (
            <button className="btn btn-small" onClick={() => setShareOpen(true)}>
              Share
            </button>
          )}
          <button
            className={`btn-icon wide-only${side === 'chat' ? ' active' : ''}`}
            aria-pressed={side === 'chat'}
            aria-label={unread ? `Chat, ${unread} unread` : 'Chat'}
            title="Chat (Alt+2)"
            onClick={() => toggleSide('chat')}
          >
            <ChatIcon />
            {unread > 0 && <span className="badge" data-testid="unread-badge">{unread > 99 ? '99+' : unread}</span>}
          </button>
          <button
            className="btn-icon wide-only"
            aria-pressed={side === 'people'}
            aria-label="People"
            title="People (Alt+3)"
            onClick={() => toggleSide('people')}
          >
            <PeopleIcon />
          </button>
          {!held.terminal && (
            <button
              className="btn-icon"
              aria-pressed={showOutput && drawerTab === 'terminal'}
              aria-label="Terminal"
              title="Terminal (Alt+5)"
              onClick={() => openTerminal(true)}
            >
              <TerminalIcon />
            </button>
          )}
          {canWatch && (
            <button
              className="btn-icon wide-only"
              aria-pressed={side === 'recordings'}
              aria-label="Recordings"
              title="Recordings (Alt+6)"
              onClick={() => toggleSide('recordings')}
            >
              <RecordIcon />
            </button>
          )}
          <RunButtons session={session} controls={controls} canRun={canRun} languages={languages} language={active?.language} />
        </div>
      </div>
      <Banners session={session} health={health} />
      {held.edit && (
        <div className="banner banner-info" role="note" data-testid="interview-banner">
          {interview?.interview.endedAtMs
            ? 'The interview has ended. Thank you! The pad is now read-only.'
            : 'The interviewer has paused editing for now.'}
        </div>
      )}
      {narrow && (
        <div className="pane-tabs" role="tablist" aria-label="Panes">
          {(['code', 'board', 'files', ...(interview ? (['interview'] as const) : []), 'chat', 'people', ...(canWatch ? (['recordings'] as const) : [])] as const).map((p) => (
            <button key={p} role="tab" aria-selected={paneTabSelected(p)} className="side-tab" data-testid={`pane-tab-${p}`} onClick={() => pickPaneTab(p)}>
              {PANE_LABEL[p]}
              {p === 'chat' && unread > 0 && pane !== 'chat' && <span className="badge">{unread > 99 ? '99+' : unread}</span>}
            </button>
          ))}
        </div>
      )}
      <div
        ref={bodyRef}
        className={narrow ? `pad-body narrow pane-${pane}` : `pad-body${showFiles ? ' with-files' : ''}${side ? ' with-side' : ''}`}
        style={{ '--files-w': `${prefs.filesWidth}px`, '--side-w': `${prefs.sideWidth}px` } as CSSProperties}
      >
        {filesShown && <FilesPanel session={session} canEdit={canEdit} languages={languages} padLanguage={padLanguage} />}
        <section className="pad-main" ref={mainRef}>
          {!narrow &&
            COLUMN_SPLITTERS.filter((c) => (c.key === 'filesWidth' ? showFiles : side)).map((c) => (
              <Splitter
                key={c.key}
                axis="x"
                sign={c.sign}
                label={c.label}
                className={c.className}
                testId={c.testId}
                value={prefs[c.key]}
                min={c.range.min}
                max={c.range.max}
                onChange={(v) => updatePrefs({ [c.key]: Math.round(v) })}
              />
            ))}
          {view === 'whiteboard' && (
            <div className="editor-wrap">
              <Suspense fallback={<div className="editor-overlay"><Spinner label="Loading the whiteboard…" /></div>}>
                <WhiteboardPanel doc={session.doc} readOnly={readOnly} theme={theme} awareness={session.awareness} />
              </Suspense>
            </div>
          )}
          <div className="editor-wrap" hidden={view !== 'code'}>
            {!everSynced && (
              <div className="editor-overlay">
                {status === 'reconnecting' || status === 'offline' ? (
                  <div className="stack center">
                    <ErrorMessage error={new Error("Can't connect to the pad right now. Retrying…")} />
                    <button className="btn btn-small" onClick={() => session.provider.reconnectNow()}>
                      Retry now
                    </button>
                  </div>
                ) : (
                  <Spinner label="Connecting to the pad…" />
                )}
              </div>
            )}
            {files.length === 0 && everSynced && <div className="editor-overlay muted">This pad has no files.</div>}
            <Suspense fallback={<div className="editor-overlay"><Spinner label="Loading the editor…" /></div>}>
              <CodeEditor session={session} readOnly={readOnly} theme={theme} languages={languages} onRun={run} onRepl={openRepl} onStop={stop} />
            </Suspense>
          </div>
          <div
            className={`drawer${showOutput ? '' : ' drawer-collapsed'}`}
            style={showOutput ? { height: `${Math.min(prefs.drawerShare, narrow ? NARROW_DRAWER_MAX_SHARE : DRAWER_SHARE.max) * 100}%` } : undefined}
          >
            {showOutput && (
              <Splitter
                axis="y"
                sign={-1}
                label="Resize the output panel"
                testId="split-drawer"
                value={prefs.drawerShare}
                min={DRAWER_SHARE.min}
                max={narrow ? NARROW_DRAWER_MAX_SHARE : DRAWER_SHARE.max}
                scale={() => mainRef.current?.clientHeight ?? 1}
                onChange={(v) => updatePrefs({ drawerShare: v })}
              />
            )}
            {showOutput ? (
              <div className="drawer-tabs" role="tablist" aria-label="Output and terminal">
                <button className="btn-icon" aria-label="Hide output and terminal" title="Hide (Alt+4)" onClick={() => setShowOutput(false)}>
                  ▾
                </button>
                <button
                  role="tab"
                  aria-selected={drawerTab === 'output'}
                  className="side-tab"
                  data-testid="drawer-tab-output"
                  onClick={() => setDrawerTab('output')}
                >
                  Output {running && drawerTab !== 'output' ? <span className="pulse" aria-label="running" /> : null}
                </button>
                {!held.terminal && (
                  <button
                    role="tab"
                    aria-selected={drawerTab === 'terminal'}
                    className="side-tab"
                    data-testid="drawer-tab-terminal"
                    onClick={() => openTerminal()}
                  >
                    Terminal
                  </button>
                )}
                {drawerTab === 'terminal' && (
                  <div className="row drawer-actions">
                    {canRun ? (
                      <SyncFilesButton slug={session.slug} />
                    ) : (
                      <span className="chip chip-warn" data-testid="terminal-readonly" title="The server refuses keystrokes from your role">
                        view only — you can watch the terminal but not type in it
                      </span>
                    )}
                  </div>
                )}
              </div>
            ) : (
              <button className="output-collapsed" onClick={() => setShowOutput(true)}>
                ▸ {drawerTab === 'terminal' ? 'Terminal' : 'Output'} {running ? '(running…)' : ''}
              </button>
            )}
            <div className="drawer-pane" hidden={!showOutput || drawerTab !== 'output'}>
              <OutputPanel
                session={session}
                stdin={controls.stdin}
                setStdin={controls.setStdin}
                canRun={canRun}
                languages={languages}
                onRepl={openRepl}
                onHide={() => setShowOutput(false)}
                embedded
              />
            </div>
            {terminalMounted && !held.terminal && (
              <div className="drawer-pane" hidden={!showOutput || drawerTab !== 'terminal'}>
                <Suspense fallback={<div className="center-pad"><Spinner label="Loading the terminal…" /></div>}>
                  <TerminalPanel slug={session.slug} getToken={() => authSession.token()} theme={theme} className="terminal-pane" />
                </Suspense>
              </div>
            )}
          </div>
        </section>
        {sideShown && (
          <aside className="pad-side" aria-label={SIDE_LABEL[sideShown]}>
            <div className="side-tabs" role="tablist">
              {interview && (
                <button role="tab" aria-selected={side === 'interview'} className="side-tab" data-testid="side-tab-interview" onClick={() => setSide('interview')}>
                  Interview
                </button>
              )}
              <button role="tab" aria-selected={side === 'chat'} className="side-tab" onClick={() => setSide('chat')}>
                Chat {unread > 0 && side !== 'chat' && <span className="badge">{unread}</span>}
              </button>
              <button role="tab" aria-selected={side === 'people'} className="side-tab" onClick={() => setSide('people')}>
                People
              </button>
              {canWatch && (
                <button role="tab" aria-selected={side === 'recordings'} className="side-tab" onClick={() => setSide('recordings')}>
                  Recordings
                </button>
              )}
              <button className="btn-icon" aria-label="Close panel" onClick={() => setSide(null)}>
                ×
              </button>
            </div>
            {sideShown === 'interview' ? (
              <Suspense fallback={<Spinner />}>
                {interview ? <InterviewPanel slug={session.slug} state={interview} role={role} /> : <Spinner />}
              </Suspense>
            ) : sideShown === 'chat' ? (
              <ChatPanel session={session} />
            ) : sideShown === 'people' ? (
              <MembersPanel session={session} />
            ) : (
              <RecordingsPanel slug={session.slug} role={role} watcher={recordings} />
            )}
          </aside>
        )}
      </div>
      {shareOpen && <ShareDialog session={session} onClose={() => setShareOpen(false)} />}
      {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
      {prefsOpen && (
        <Modal title="Editor settings" onClose={() => setPrefsOpen(false)}>
          <EditorPrefsForm />
          <p className="muted small">Saved in this browser for your account; also under Settings.</p>
        </Modal>
      )}
      <RerunDialog controls={controls} />
      <ClosedScreen session={session} />
    </div>
  );
}
