import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type CSSProperties } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, can, describeError, type PadDetail } from '../../api';
import { ErrorMessage, Kbd, Spinner, modKey } from '../../ui/common';
import { ConfirmDialog, Modal } from '../../ui/Modal';
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
import { ReplButton } from '../run/ReplButton';
import { isReplShortcut, replAvailability } from '../run/repl';
import { EditorPrefsForm, useMyPrefs } from '../settings/EditorPrefs';
import { ShareDialog } from '../share/ShareDialog';
import { ConnectionChip, PresenceAvatars } from './Presence';
import { FilesPanel } from './FilesPanel';
import { fileRoot } from '../../editor/fileRoot';
import { fileNameFor, starterReplacesSilently } from './languageSwitch';
import { languageName } from './languages';
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
  const runRequested = useStore(session.store, (s) => s.runRequested);
  const running = useStore(session.store, (s) => !!s.run && !s.run.finished);
  const replOpen = useStore(session.store, (s) => !!s.run && !s.run.finished && s.run.repl);
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
  const [stdin, setStdin] = useState('');
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

  // A press of Run while a run is going asks before stopping it (one run per pad at a time).
  const [rerunAsk, setRerunAsk] = useState(false);
  const runOptions = useCallback(() => {
    const s = session.state;
    const file = s.files.find((f) => f.name === s.activeFile);
    return { entry: file?.name, language: file?.language, stdin };
  }, [session, stdin]);
  const run = useCallback(() => {
    if (!can.run(session.state.role)) {
      toast("Your role can't run code on this pad.", 'error');
      return;
    }
    setShowOutput(true);
    setDrawerTab('output');
    const current = session.state.run;
    if (current && !current.finished) {
      // Run closes an open REPL (it loads the program again anyway); a run in progress asks first.
      if (current.repl) void session.stopAndRun(runOptions()).then((result) => result === 'busy' && setRerunAsk(true));
      else setRerunAsk(true);
      return;
    }
    void session.run(runOptions()).then((result) => result === 'busy' && setRerunAsk(true));
  }, [session, runOptions]);
  const openRepl = useCallback(() => {
    const s = session.state;
    const { enabled, why } = replAvailability({ canRun: can.run(s.role), run: s.run, requested: s.runRequested });
    if (!enabled) {
      toast(why, 'error');
      return;
    }
    setShowOutput(true);
    setDrawerTab('output');
    void session.run({ ...runOptions(), repl: true });
  }, [session, runOptions]);
  const stop = useCallback(() => {
    if (can.run(session.state.role)) void session.stopRun();
  }, [session]);

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
          else {
            setShowOutput(true);
            setDrawerTab('output');
          }
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
  }, [run, openRepl, stop, openTerminal, toggleFiles, toggleSide]);

  const active = useMemo(() => files.find((f) => f.name === activeFile) ?? null, [files, activeFile]);
  const [langBusy, setLangBusy] = useState(false);
  /** A language switch waiting for the user's answer: the file holds someone's code. */
  const [langAsk, setLangAsk] = useState<{ fileId: number; language: string; name: string } | null>(null);
  const applyLanguage = async (change: { fileId: number; language: string; name: string }, starter: boolean) => {
    const file = session.state.files.find((f) => f.id === change.fileId);
    const to = languages.find((l) => l.id === change.language);
    if (!file) return;
    setLangBusy(true);
    try {
      const taken = session.state.files.some((f) => f.name === change.name && f.id !== file.id);
      const name = taken ? file.name : change.name;
      await api.files.update(session.slug, file.id, { language: change.language, ...(name !== file.name ? { name } : {}) });
      if (session.state.activeFile === file.name) session.setActiveFile(name);
      if (starter && to?.template) {
        const text = session.doc.getText(fileRoot(file.id));
        session.doc.transact(() => {
          text.delete(0, text.length);
          text.insert(0, to.template!);
        });
      }
      await session.refreshFiles();
      if (taken) toast(`${change.name} already exists, so ${file.name} kept its name.`, 'info');
    } catch (err) {
      toast(`Couldn't change the language: ${describeError(err)}`, 'error');
    } finally {
      setLangBusy(false);
    }
  };
  const changeLanguage = (language: string) => {
    const to = languages.find((l) => l.id === language);
    if (!active || !to) return;
    const from = languages.find((l) => l.id === active.language);
    const change = { fileId: active.id, language, name: fileNameFor(active.name, from, to) };
    const content = session.doc.getText(fileRoot(active.id)).toString();
    if (!to.template || starterReplacesSilently(content, from)) void applyLanguage(change, !!to.template);
    else setLangAsk(change);
  };

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
          {active && (
            <div className="row small muted">
              <span className="mono file-crumb">{active.name}</span>
              <label className="sr-only" htmlFor="file-language">
                Language of {active.name}
              </label>
              <select
                id="file-language"
                className="input input-small"
                value={active.language}
                disabled={!canEdit || langBusy}
                onChange={(e) => changeLanguage(e.target.value)}
              >
                {!languages.some((l) => l.id === active.language) && <option value={active.language}>{languageName(active.language, languages)}</option>}
                {languages.map((l) => (
                  <option key={l.id} value={l.id}>
                    {l.name}
                  </option>
                ))}
              </select>
            </div>
          )}
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
          {running && canRun && (
            <button className="btn btn-danger btn-small" data-testid="stop-run" onClick={stop} title={`Stop the run (${modKey}+.)`}>
              ■ Stop
            </button>
          )}
          <ReplButton session={session} canRun={canRun} languages={languages} language={active?.language} onOpen={openRepl} />
          <button
            className="btn btn-primary run-button"
            onClick={run}
            disabled={!canRun || runRequested}
            title={canRun ? `${replOpen ? 'Close the REPL and run' : 'Run'} (${modKey}+Enter)` : 'Viewers cannot run code'}
          >
            {runRequested || (running && !replOpen) ? <Spinner /> : '▶'} {running && !replOpen ? 'Running' : 'Run'} <Kbd>{modKey}↵</Kbd>
          </button>
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
                stdin={stdin}
                setStdin={setStdin}
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
      {rerunAsk && (
        <ConfirmDialog
          title="A run is in progress"
          confirmLabel="Stop and run again"
          danger
          onCancel={() => setRerunAsk(false)}
          onConfirm={() => {
            setRerunAsk(false);
            void session.stopAndRun(runOptions()).then((result) => result === 'busy' && setRerunAsk(true));
          }}
        >
          The pad runs one program at a time. Stop the current run and start the open file again?
        </ConfirmDialog>
      )}
      {langAsk && (
        <Modal title={`Switch to ${languageName(langAsk.language, languages)}?`} onClose={() => setLangAsk(null)}>
          <div className="stack">
            <p>
              The file has code in it. It becomes <span className="mono">{langAsk.name}</span>; do you want the{' '}
              {languageName(langAsk.language, languages)} starter in place of its code, or keep the code as it is?
            </p>
            <div className="row end">
              <button className="btn" data-autofocus onClick={() => setLangAsk(null)}>
                Cancel
              </button>
              <button
                className="btn"
                onClick={() => {
                  setLangAsk(null);
                  void applyLanguage(langAsk, false);
                }}
              >
                Keep the code
              </button>
              <button
                className="btn btn-danger"
                onClick={() => {
                  setLangAsk(null);
                  void applyLanguage(langAsk, true);
                }}
              >
                Replace with the starter
              </button>
            </div>
          </div>
        </Modal>
      )}
      <ClosedScreen session={session} />
    </div>
  );
}
