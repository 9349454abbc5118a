// The read-only Monaco view of a recording (lazy: shares the Monaco chunk with the pad editor).
// One model per file, mirrored from the playback Y.Doc: each Yjs change is applied to the model
// as a small edit (so the view doesn't jump), and changes made by replayed edits are tinted in
// their author's colour for a few seconds of recording time.
import { useEffect, useRef } from 'react';
import type * as Monaco from 'monaco-editor';
import type * as Y from 'yjs';
import type { Language } from '../../api';
import { monaco } from '../../editor/monacoSetup';
import { useStore } from '../../ui/store';
import { editorModeFor, tabSizeFor } from '../pad/languages';
import type { PlaybackController } from './controller';
import { personHue } from '../../ui/personColor';
import { isEditOrigin, type EditOrigin, type PlaybackDoc } from './playbackDoc';

/** How long (recording time) a replayed change keeps its author's colour. */
export const RECENT_EDIT_MS = 4000;

interface Mark {
  id: string;
  at: number;
}

/** Keeps a Monaco model equal to a Y.Text, reporting who changed what. */
class TextMirror {
  private ytext: Y.Text | null = null;
  marks: Mark[] = [];

  constructor(
    readonly model: Monaco.editor.ITextModel,
    private readonly onChange: (mirror: TextMirror, range: Monaco.IRange, origin: EditOrigin) => void,
  ) {}

  bind(ytext: Y.Text) {
    this.ytext?.unobserve(this.observer);
    this.ytext = ytext;
    this.clearMarks();
    replaceMinimal(this.model, ytext.toString());
    ytext.observe(this.observer);
  }

  private observer = (event: Y.YTextEvent, tr: Y.Transaction) => {
    const model = this.model;
    const origin = isEditOrigin(tr.origin) ? tr.origin : null;
    let index = 0;
    for (const op of event.delta) {
      if (op.retain != null) {
        index += op.retain;
      } else if (op.insert != null) {
        const text = typeof op.insert === 'string' ? op.insert : '';
        const from = model.getPositionAt(index);
        model.applyEdits([{ range: new monaco.Range(from.lineNumber, from.column, from.lineNumber, from.column), text }]);
        const to = model.getPositionAt(index + text.length);
        if (origin) this.onChange(this, { startLineNumber: from.lineNumber, startColumn: from.column, endLineNumber: to.lineNumber, endColumn: to.column }, origin);
        index += text.length;
      } else if (op.delete != null) {
        const from = model.getPositionAt(index);
        const to = model.getPositionAt(index + op.delete);
        model.applyEdits([{ range: new monaco.Range(from.lineNumber, from.column, to.lineNumber, to.column), text: '' }]);
        if (origin) this.onChange(this, { startLineNumber: from.lineNumber, startColumn: from.column, endLineNumber: from.lineNumber, endColumn: from.column }, origin);
      }
    }
    // Line endings normalised by Monaco, or anything unexpected: resynchronise.
    if (this.ytext && model.getValueLength() !== this.ytext.length) replaceMinimal(model, this.ytext.toString());
  };

  clearMarks() {
    if (this.marks.length) this.model.deltaDecorations(this.marks.map((m) => m.id), []);
    this.marks = [];
  }

  prune(t: number) {
    const stale = this.marks.filter((m) => m.at < t - RECENT_EDIT_MS || m.at > t);
    if (!stale.length) return;
    this.model.deltaDecorations(stale.map((m) => m.id), []);
    const gone = new Set(stale.map((m) => m.id));
    this.marks = this.marks.filter((m) => !gone.has(m.id));
  }

  dispose() {
    this.ytext?.unobserve(this.observer);
    this.ytext = null;
    this.model.dispose();
  }
}

/** Replace the model's text with `next`, touching only the part that differs. */
function replaceMinimal(model: Monaco.editor.ITextModel, next: string) {
  const prev = model.getValue();
  if (prev === next) return;
  let start = 0;
  const max = Math.min(prev.length, next.length);
  while (start < max && prev.charCodeAt(start) === next.charCodeAt(start)) start++;
  let endPrev = prev.length;
  let endNext = next.length;
  while (endPrev > start && endNext > start && prev.charCodeAt(endPrev - 1) === next.charCodeAt(endNext - 1)) {
    endPrev--;
    endNext--;
  }
  const a = model.getPositionAt(start);
  const b = model.getPositionAt(endPrev);
  model.applyEdits([{ range: new monaco.Range(a.lineNumber, a.column, b.lineNumber, b.column), text: next.slice(start, endNext) }]);
}

const styled = new Set<number>();
let styleEl: HTMLStyleElement | null = null;
/** CSS classes for an author's hue (tint on the text, bar in the margin). */
function authorClasses(hue: number): { inline: string; line: string } {
  if (!styled.has(hue)) {
    styled.add(hue);
    if (!styleEl) {
      styleEl = document.createElement('style');
      styleEl.dataset.oc = 'playback-authors';
      document.head.appendChild(styleEl);
    }
    styleEl.textContent +=
      `.oc-pb-h-${hue}{background:hsl(${hue} 80% 55% / 0.28);border-radius:2px}` +
      `.oc-pb-m-${hue}{border-left:3px solid hsl(${hue} 75% 50%);margin-left:4px}`;
  }
  return { inline: `oc-pb-h-${hue}`, line: `oc-pb-m-${hue}` };
}

function fileUri(name: string) {
  return monaco.Uri.from({ scheme: 'ocpb', path: '/' + name });
}

export default function PlaybackEditor(props: { controller: PlaybackController; theme: 'dark' | 'light'; languages: Language[] }) {
  const { controller, theme, languages } = props;
  const hostRef = useRef<HTMLDivElement>(null);
  const editorRef = useRef<Monaco.editor.IStandaloneCodeEditor | null>(null);
  const mirrorsRef = useRef(new Map<string, TextMirror>());
  const viewStates = useRef(new Map<string, Monaco.editor.ICodeEditorViewState | null>());
  const shownRef = useRef<string | null>(null);
  const boundDoc = useRef<PlaybackDoc | null>(null);
  const doc = useStore(controller.store, (s) => s.doc);
  const files = useStore(controller.store, (s) => s.files);
  const active = useStore(controller.store, (s) => s.activeFile);
  const fileLanguages = useStore(controller.store, (s) => s.languages);

  useEffect(() => {
    const editor = monaco.editor.create(hostRef.current!, {
      model: null,
      readOnly: true,
      domReadOnly: true,
      readOnlyMessage: { value: 'This is a recording: it shows the code as it was and cannot be edited.' },
      automaticLayout: true,
      fontSize: 14,
      fontFamily: "ui-monospace, 'SF Mono', 'Cascadia Code', 'JetBrains Mono', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      renderWhitespace: 'selection',
      padding: { top: 10, bottom: 10 },
      fixedOverflowWidgets: true,
      theme: theme === 'dark' ? 'oc-dark' : 'oc-light',
      ariaLabel: 'Recorded code (read only)',
    });
    editorRef.current = editor;
    const mirrors = mirrorsRef.current;
    // Fade authors' colours as the playhead moves on (without re-rendering React each frame).
    let lastT = controller.state.t;
    const unsubscribe = controller.store.subscribe(() => {
      const t = controller.state.t;
      if (t === lastT) return;
      lastT = t;
      mirrors.forEach((m) => m.prune(t));
    });
    return () => {
      unsubscribe();
      mirrors.forEach((m) => m.dispose());
      mirrors.clear();
      editor.dispose();
      editorRef.current = null;
      boundDoc.current = null;
      shownRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [controller]);

  // One model per shown file, each mirroring its text in the current document.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor || !doc) return;
    const mirrors = mirrorsRef.current;
    const rebind = boundDoc.current !== doc;
    boundDoc.current = doc;
    const names = new Set(files);
    mirrors.forEach((m, name) => {
      if (names.has(name)) return;
      if (shownRef.current === name) {
        editor.setModel(null);
        shownRef.current = null;
      }
      m.dispose();
      mirrors.delete(name);
    });
    for (const name of files) {
      const mode = editorModeFor(fileLanguages[name], name, languages);
      let mirror = mirrors.get(name);
      if (!mirror) {
        monaco.editor.getModel(fileUri(name))?.dispose();
        const model = monaco.editor.createModel('', mode, fileUri(name));
        model.setEOL(monaco.editor.EndOfLineSequence.LF);
        model.updateOptions(tabSizeFor(mode));
        mirror = new TextMirror(model, (m, range, origin) => {
          // A long jump forward applies many edits at once: only the recent ones get a colour.
          if (origin.at < controller.state.t - RECENT_EDIT_MS) return;
          const hue = personHue(origin.userId, origin.userName);
          const cls = authorClasses(hue);
          const [id] = m.model.deltaDecorations(
            [],
            [
              {
                range,
                options: {
                  inlineClassName: cls.inline,
                  linesDecorationsClassName: cls.line,
                  hoverMessage: { value: `Edited by ${origin.userName ?? 'someone'}` },
                  stickiness: monaco.editor.TrackedRangeStickiness.NeverGrowsWhenTypingAtEdges,
                },
              },
            ],
          );
          m.marks.push({ id, at: origin.at });
        });
        mirrors.set(name, mirror);
        mirror.bind(doc.text(name));
      } else {
        if (rebind) mirror.bind(doc.text(name));
        if (mirror.model.getLanguageId() !== mode) monaco.editor.setModelLanguage(mirror.model, mode);
      }
    }
  }, [doc, files, fileLanguages, languages, controller]);

  // Show the active file, keeping each file's scroll position.
  useEffect(() => {
    const editor = editorRef.current;
    if (!editor) return;
    const next = active ? mirrorsRef.current.get(active) : undefined;
    if (editor.getModel() === (next?.model ?? null)) return;
    if (shownRef.current) viewStates.current.set(shownRef.current, editor.saveViewState());
    editor.setModel(next?.model ?? null);
    shownRef.current = next ? active : null;
    const view = active ? viewStates.current.get(active) : null;
    if (view) editor.restoreViewState(view);
  }, [active, files, doc]);

  useEffect(() => {
    monaco.editor.setTheme(theme === 'dark' ? 'oc-dark' : 'oc-light');
  }, [theme]);

  return <div ref={hostRef} className="editor-host" data-testid="playback-editor" />;
}
