// The Monaco editor bound to the pad's Y.Doc, one model per file (so each file keeps its own
// cursor, scroll and undo history), via y-monaco. A file's text is the root `file:<id>`: bindings
// are keyed by the file's id, so a rename (metadata only) keeps the model, the binding and the
// undo history, and nothing typed meanwhile is lost. This module is the lazily loaded editor chunk.
import { useEffect, useRef } from 'react';
import type * as Monaco from 'monaco-editor';
import { MonacoBinding } from 'y-monaco';
import * as Y from 'yjs';
import type { Language } from '../api';
import { editorModeFor, tabSizeFor } from '../features/pad/languages';
import { IntegrityReporter } from '../features/interview/integrity';
import type { PadSession } from '../features/pad/padSession';
import { useMyPrefs } from '../features/settings/EditorPrefs';
import { indentation, type KeyBindings, type TabWidth } from '../ui/prefs';
import { useStore } from '../ui/store';
import { RemoteCursors } from './cursors';
import { parseDiagnostics, stderrText, type RunDiagnostic } from './diagnostics';
import { fileRoot } from './fileRoot';
import { monaco } from './monacoSetup';

interface FileBinding {
  id: number;
  name: string;
  model: Monaco.editor.ITextModel;
  binding: MonacoBinding;
  undo: Y.UndoManager;
  /** Stops reporting this file's pastes and large insertions (candidates only). */
  unwatch: () => void;
  viewState: Monaco.editor.ICodeEditorViewState | null;
  mode: string;
}

/** Owner of the markers a run's errors put in the editor. */
const RUN_MARKERS = 'oc-run';

export interface CodeEditorProps {
  session: PadSession;
  readOnly: boolean;
  theme: 'dark' | 'light';
  languages: Language[];
  onRun: () => void;
  /** Open a REPL with the file loaded (Ctrl/Cmd+Shift+Enter). */
  onRepl: () => void;
  /** Stop the run in progress (Ctrl/Cmd+.). */
  onStop: () => void;
  onReady?: () => void;
}

function fileUri(id: number, name: string) {
  return monaco.Uri.from({ scheme: 'oc', path: `/${id}/${name}` });
}

function modelIndentation(mode: string, tabWidth: TabWidth) {
  return indentation(tabSizeFor(mode), tabWidth);
}

function runMarker(model: Monaco.editor.ITextModel, d: RunDiagnostic): Monaco.editor.IMarkerData {
  const line = Math.min(d.line, model.getLineCount());
  const lineEnd = model.getLineMaxColumn(line);
  const start = d.column ? Math.min(d.column, lineEnd) : Math.max(1, model.getLineFirstNonWhitespaceColumn(line));
  const word = d.column ? model.getWordAtPosition({ lineNumber: line, column: start }) : null;
  const severity = { error: monaco.MarkerSeverity.Error, warning: monaco.MarkerSeverity.Warning, info: monaco.MarkerSeverity.Info }[d.severity];
  return {
    severity,
    message: d.message,
    source: 'run',
    startLineNumber: line,
    startColumn: start,
    endLineNumber: line,
    endColumn: word ? word.endColumn : lineEnd > start ? lineEnd : start + 1,
  };
}

interface KeyMode {
  dispose(): void;
}

/** Vim or Emacs key bindings, each its own lazy chunk (most people never load either). */
async function startKeyMode(kind: KeyBindings, editor: Monaco.editor.IStandaloneCodeEditor, status: HTMLElement): Promise<KeyMode | null> {
  if (kind === 'vim') {
    const { initVimMode } = await import('monaco-vim');
    return initVimMode(editor, status);
  }
  if (kind === 'emacs') {
    const { EmacsExtension } = await import('monaco-emacs');
    const emacs = new EmacsExtension(editor);
    const keys = emacs.onDidChangeKey((key) => (status.textContent = key));
    emacs.start();
    status.textContent = 'Emacs';
    return { dispose: () => (keys.dispose(), emacs.dispose()) };
  }
  return null;
}

export default function CodeEditor(props: CodeEditorProps) {
  const { session, readOnly, theme, languages } = props;
  const hostRef = useRef<HTMLDivElement>(null);
  const statusRef = useRef<HTMLDivElement>(null);
  const [prefs] = useMyPrefs();
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  const run = useStore(session.store, (s) => s.run);
  const runId = run?.runId ?? null;
  const runFinished = run?.finished != null;
  const markedRunRef = useRef<string | null>(null);
  const editorRef = useRef<Monaco.editor.IStandaloneCodeEditor | null>(null);
  const cursorsRef = useRef<RemoteCursors | null>(null);
  const bindingsRef = useRef(new Map<number, FileBinding>());
  const integrityRef = useRef<IntegrityReporter | null>(null);
  const shownRef = useRef<number | null>(null);
  const onRunRef = useRef(props.onRun);
  onRunRef.current = props.onRun;
  const onReplRef = useRef(props.onRepl);
  onReplRef.current = props.onRepl;
  const onStopRef = useRef(props.onStop);
  onStopRef.current = props.onStop;
  const onReadyRef = useRef(props.onReady);
  onReadyRef.current = props.onReady;
  const files = useStore(session.store, (s) => s.files);
  const active = useStore(session.store, (s) => s.activeFile);

  // Create the editor once.
  useEffect(() => {
    const host = hostRef.current!;
    const editor = monaco.editor.create(host, {
      model: null,
      automaticLayout: true,
      fontSize: prefs.fontSize,
      fontFamily: "ui-monospace, 'SF Mono', 'Cascadia Code', 'JetBrains Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      smoothScrolling: true,
      renderWhitespace: 'selection',
      padding: { top: 10, bottom: 10 },
      wordWrap: prefs.wordWrap ? 'on' : 'off',
      fixedOverflowWidgets: true,
      // Enter always means a new line (Tab accepts a suggestion): fewer surprises when pairing.
      acceptSuggestionOnEnter: 'off',
      wordBasedSuggestions: 'currentDocument',
      theme: theme === 'dark' ? 'oc-dark' : 'oc-light',
      ariaLabel: 'Code editor',
    });
    editorRef.current = editor;
    cursorsRef.current = new RemoteCursors(monaco, editor, session.doc, session.awareness);
    // The interviewers' integrity timeline: only a candidate's client reports (sizes, never text).
    const integrity = new IntegrityReporter(
      (report) => session.provider.sendApp(report),
      () => session.store.get().role === 'candidate',
    );
    integrityRef.current = integrity;
    const onPaste = (e: ClipboardEvent) => integrity.pasted(e.clipboardData?.getData('text/plain') ?? '');
    host.addEventListener('paste', onPaste, true);
    const unwatchWindow = integrity.watchWindow(window);

    const activeUndo = () => (shownRef.current ? bindingsRef.current.get(shownRef.current)?.undo : undefined);
    const { KeyMod, KeyCode } = monaco;
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.Enter, () => onRunRef.current());
    editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.Enter, () => onReplRef.current());
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.Period, () => onStopRef.current());
    // Undo/redo only our own edits (a collaborator's typing is not ours to undo).
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, () => activeUndo()?.undo());
    editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, () => activeUndo()?.redo());
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, () => activeUndo()?.redo());
    // Everything is saved as you type; swallow the browser's "Save page".
    editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyS, () => undefined);

    const bindings = bindingsRef.current;
    return () => {
      host.removeEventListener('paste', onPaste, true);
      unwatchWindow();
      integrityRef.current = null;
      cursorsRef.current?.dispose();
      cursorsRef.current = null;
      bindings.forEach((b) => {
        b.unwatch();
        b.undo.destroy();
        b.binding.destroy();
        b.model.dispose();
      });
      bindings.clear();
      shownRef.current = null;
      editor.dispose();
      editorRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);

  // Keep one model + binding per file; drop those of files that are gone.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor) return;
    const bindings = bindingsRef.current;
    const ids = new Set(files.map((f) => f.id));
    bindings.forEach((b, id) => {
      if (!ids.has(id)) {
        if (shownRef.current === id) {
          editor.setModel(null);
          shownRef.current = null;
        }
        b.unwatch();
        b.undo.destroy();
        b.binding.destroy();
        b.model.dispose();
        bindings.delete(id);
      }
    });
    for (const file of files) {
      const mode = editorModeFor(file.language, file.name, languages);
      const existing = bindings.get(file.id);
      if (existing) {
        existing.name = file.name;
        if (existing.mode !== mode) {
          monaco.editor.setModelLanguage(existing.model, mode);
          existing.model.updateOptions(modelIndentation(mode, prefsRef.current.tabWidth));
          existing.mode = mode;
        }
        continue;
      }
      const ytext = session.doc.getText(fileRoot(file.id));
      monaco.editor.getModel(fileUri(file.id, file.name))?.dispose();
      const model = monaco.editor.createModel(ytext.toString(), mode, fileUri(file.id, file.name));
      model.setEOL(monaco.editor.EndOfLineSequence.LF);
      model.updateOptions(modelIndentation(mode, prefsRef.current.tabWidth));
      const binding = new MonacoBinding(ytext, model, new Set([editor]), null);
      // A run's error markers describe the text it ran; any edit makes them stale.
      model.onDidChangeContent(() => monaco.editor.setModelMarkers(model, RUN_MARKERS, []));
      const undo = new Y.UndoManager(ytext, { trackedOrigins: new Set([binding]), captureTimeout: 400 });
      const unwatch = integrityRef.current?.watchFile(ytext, binding, file.id) ?? (() => undefined);
      bindings.set(file.id, { id: file.id, name: file.name, model, binding, undo, unwatch, viewState: null, mode });
    }
  }, [files, languages, session]);

  // Show the active file's model, restoring where the user was in it.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor) return;
    const bindings = bindingsRef.current;
    const activeId = files.find((f) => f.name === active)?.id;
    const next = activeId !== undefined ? bindings.get(activeId) : undefined;
    if (shownRef.current === (next?.id ?? null) && editor.getModel() === (next?.model ?? null)) {
      cursorsRef.current?.setFile(next ? { id: next.id, name: next.name } : null);
      return;
    }
    const prev = shownRef.current ? bindings.get(shownRef.current) : undefined;
    if (prev) prev.viewState = editor.saveViewState();
    editor.setModel(next?.model ?? null);
    shownRef.current = next?.id ?? null;
    if (next?.viewState) editor.restoreViewState(next.viewState);
    cursorsRef.current?.setFile(next ? { id: next.id, name: next.name } : null);
    if (next && !prev) {
      // The pad just opened (or was created): type at once, unless the user is already elsewhere.
      const elsewhere = document.activeElement && document.activeElement !== document.body;
      if (!elsewhere) editor.focus();
    }
    if (next) onReadyRef.current?.();
  }, [active, files]);

  // A run's compiler/interpreter errors as markers at their lines: cleared when the next run starts.
  useEffect(() => {
    const bindings = [...bindingsRef.current.values()];
    if (runId !== markedRunRef.current) bindings.forEach((b) => monaco.editor.setModelMarkers(b.model, RUN_MARKERS, []));
    const finished = session.store.get().run;
    if (!runId || !runFinished || !finished || markedRunRef.current === runId || bindings.length === 0) return;
    markedRunRef.current = runId;
    const found = parseDiagnostics(stderrText(finished.output), bindings.map((b) => b.name));
    for (const b of bindings) {
      const mine = found.filter((d) => d.file === b.name);
      if (mine.length > 0) monaco.editor.setModelMarkers(b.model, RUN_MARKERS, mine.map((d) => runMarker(b.model, d)));
    }
  }, [runId, runFinished, files, session]);

  useEffect(() => {
    editorRef.current?.updateOptions({ fontSize: prefs.fontSize, wordWrap: prefs.wordWrap ? 'on' : 'off' });
  }, [prefs.fontSize, prefs.wordWrap]);

  useEffect(() => {
    bindingsRef.current.forEach((b) => b.model.updateOptions(modelIndentation(b.mode, prefs.tabWidth)));
  }, [prefs.tabWidth, files]);

  useEffect(() => {
    const editor = editorRef.current;
    const status = statusRef.current;
    if (!editor || !status || prefs.keyBindings === 'standard') return;
    let mode: KeyMode | null = null;
    let cancelled = false;
    void startKeyMode(prefs.keyBindings, editor, status).then((m) => {
      if (cancelled) m?.dispose();
      else mode = m;
    });
    return () => {
      cancelled = true;
      mode?.dispose();
      status.textContent = '';
    };
  }, [prefs.keyBindings, session]);

  useEffect(() => {
    editorRef.current?.updateOptions({
      readOnly,
      readOnlyMessage: { value: 'You can view this pad but not edit it. Ask the owner for edit access.' },
    });
  }, [readOnly]);

  useEffect(() => {
    monaco.editor.setTheme(theme === 'dark' ? 'oc-dark' : 'oc-light');
  }, [theme]);

  const keyed = prefs.keyBindings !== 'standard';
  return (
    <>
      <div
        ref={hostRef}
        className={`editor-host${keyed ? ' with-status' : ''}`}
        data-testid="editor-host"
        data-readonly={readOnly ? 'true' : 'false'}
        data-keys={prefs.keyBindings}
      />
      <div ref={statusRef} className="editor-status mono" data-testid="editor-keymode" hidden={!keyed} aria-live="polite" />
    </>
  );
}
