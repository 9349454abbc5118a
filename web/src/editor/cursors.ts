// Remote carets, selections and name labels, from the pad's awareness states (stamped by the
// server with `user: {id, name}`; the colour is `personColor` of the id). Keyed by Yjs client id, so two tabs of one person are
// two cursors. Our own position is published (throttled) as `cursor: {file, fileId, anchor, head}`
// (the file's name for lists, its id for matching) with Yjs relative positions, which stay correct
// while others edit.
import type * as Monaco from 'monaco-editor';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { textOn, withAlpha } from './colors';
import { fileRoot } from './fileRoot';
import { personColor } from '../ui/personColor';

const PUBLISH_EVERY_MS = 60;
/** A name label shows this long after its caret moves (or the pointer rests on the caret), then fades out
 * completely, so it never covers code for longer than a glance. */
export const LABEL_SHOWN_MS = 2000;
const IDLE_CHECK_MS = 250;

interface CursorState {
  file: string;
  fileId?: number;
  anchor: unknown;
  head: unknown;
}

interface RemoteUser {
  id?: number;
  name: string;
}

interface Widget {
  widget: Monaco.editor.IContentWidget;
  node: HTMLDivElement;
  position: Monaco.IPosition;
  key: string;
  lastMove: number;
}


export class RemoteCursors {
  private file: { id: number; name: string } | null = null;
  private decorations: Monaco.editor.IEditorDecorationsCollection;
  private widgets = new Map<number, Widget>();
  private styleEl: HTMLStyleElement;
  private styled = new Map<number, string>();
  private disposables: Monaco.IDisposable[] = [];
  private publishTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPublish = 0;
  private idleTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly monaco: typeof Monaco,
    private readonly editor: Monaco.editor.IStandaloneCodeEditor,
    private readonly doc: Y.Doc,
    private readonly awareness: Awareness,
  ) {
    this.decorations = editor.createDecorationsCollection();
    this.styleEl = document.createElement('style');
    this.styleEl.dataset.oc = 'collab-cursors';
    document.head.appendChild(this.styleEl);
    this.awareness.on('change', this.render);
    this.disposables.push(
      editor.onDidChangeCursorSelection(() => this.schedulePublish()),
      editor.onDidChangeModelContent(() => this.render()),
      editor.onMouseMove((e) => this.revealNear(e.target.position)),
    );
    this.idleTimer = setInterval(() => this.updateIdle(), IDLE_CHECK_MS);
  }

  /** The file now shown in the editor (null: none). */
  setFile(file: { id: number; name: string } | null) {
    this.file = file;
    this.publishNow();
    this.render();
  }

  dispose() {
    this.awareness.off('change', this.render);
    this.disposables.forEach((d) => d.dispose());
    if (this.publishTimer) clearTimeout(this.publishTimer);
    clearInterval(this.idleTimer);
    this.decorations.clear();
    this.widgets.forEach((w) => this.editor.removeContentWidget(w.widget));
    this.widgets.clear();
    this.styleEl.remove();
    if (this.awareness.getLocalState()) this.awareness.setLocalStateField('cursor', null);
  }

  // --- publishing our own cursor -------------------------------------------------------------

  private schedulePublish() {
    const wait = PUBLISH_EVERY_MS - (Date.now() - this.lastPublish);
    if (wait <= 0) {
      this.publishNow();
    } else if (!this.publishTimer) {
      this.publishTimer = setTimeout(() => {
        this.publishTimer = null;
        this.publishNow();
      }, wait);
    }
  }

  private publishNow() {
    this.lastPublish = Date.now();
    if (this.awareness.getLocalState() === null) return;
    const model = this.editor.getModel();
    const sel = this.editor.getSelection();
    if (!this.file || !model || !sel) {
      this.awareness.setLocalStateField('cursor', null);
      return;
    }
    const ytext = this.doc.getText(fileRoot(this.file.id));
    let anchor = model.getOffsetAt(sel.getStartPosition());
    let head = model.getOffsetAt(sel.getEndPosition());
    if (sel.getDirection() === this.monaco.SelectionDirection.RTL) [anchor, head] = [head, anchor];
    const cursor: CursorState = {
      file: this.file.name,
      fileId: this.file.id,
      anchor: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, anchor)),
      head: Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, head)),
    };
    this.awareness.setLocalStateField('cursor', cursor);
  }

  // --- rendering others ----------------------------------------------------------------------

  private absolute(json: unknown, ytext: Y.Text): number | null {
    if (!json || typeof json !== 'object') return null;
    try {
      const rel = Y.createRelativePositionFromJSON(json);
      const abs = Y.createAbsolutePositionFromRelativePosition(rel, this.doc);
      return abs && abs.type === ytext ? abs.index : null;
    } catch {
      return null;
    }
  }

  private ensureStyle(clientId: number, color: string) {
    if (this.styled.get(clientId) === color) return;
    this.styled.set(clientId, color);
    const rules: string[] = [];
    this.styled.forEach((c, id) => {
      const soft = withAlpha(c, 0.25) ?? 'rgba(100,116,139,0.25)';
      rules.push(`.oc-rsel-${id}{background-color:${soft};}`);
      rules.push(`.oc-caret-${id}{border-color:${c} !important;}`);
    });
    this.styleEl.textContent = rules.join('\n');
  }

  render = () => {
    const model = this.editor.getModel();
    const seen = new Set<number>();
    const decorations: Monaco.editor.IModelDeltaDecoration[] = [];
    if (model && this.file) {
      const shown = this.file;
      const ytext = this.doc.getText(fileRoot(shown.id));
      this.awareness.getStates().forEach((state, clientId) => {
        if (clientId === this.doc.clientID) return;
        const cursor = (state as { cursor?: CursorState | null }).cursor;
        const user = (state as { user?: RemoteUser }).user;
        if (!cursor || cursor.fileId !== shown.id || !user) return;
        const anchor = this.absolute(cursor.anchor, ytext);
        const head = this.absolute(cursor.head, ytext);
        if (anchor == null || head == null) return;
        const color = personColor(typeof user.id === 'number' ? user.id : null, user.name);
        this.ensureStyle(clientId, color);
        const headPos = model.getPositionAt(head);
        if (anchor !== head) {
          const a = model.getPositionAt(Math.min(anchor, head));
          const b = model.getPositionAt(Math.max(anchor, head));
          decorations.push({
            range: new this.monaco.Range(a.lineNumber, a.column, b.lineNumber, b.column),
            options: { className: `oc-rsel oc-rsel-${clientId}`, stickiness: 1 },
          });
        }
        decorations.push({
          range: new this.monaco.Range(headPos.lineNumber, headPos.column, headPos.lineNumber, headPos.column),
          options: { beforeContentClassName: `oc-caret oc-caret-${clientId}`, stickiness: 1 },
        });
        this.placeLabel(clientId, typeof user.name === 'string' ? user.name : 'someone', color, headPos);
        seen.add(clientId);
      });
    }
    this.decorations.set(decorations);
    this.widgets.forEach((w, id) => {
      if (!seen.has(id)) {
        this.editor.removeContentWidget(w.widget);
        this.widgets.delete(id);
      }
    });
  };

  private placeLabel(clientId: number, name: string, color: string, position: Monaco.IPosition) {
    const existing = this.widgets.get(clientId);
    const key = `${position.lineNumber}:${position.column}`;
    if (existing) {
      if (existing.node.textContent !== name) existing.node.textContent = name;
      existing.node.style.background = color;
      existing.node.style.color = textOn(color);
      if (existing.key !== key) {
        existing.key = key;
        existing.position = position;
        existing.lastMove = Date.now();
        existing.node.classList.remove('oc-label-idle');
        this.editor.layoutContentWidget(existing.widget);
      }
      return;
    }
    const node = document.createElement('div');
    node.className = 'oc-cursor-label';
    node.textContent = name;
    node.style.background = color;
    node.style.color = textOn(color);
    node.setAttribute('aria-hidden', 'true');
    const entry: Widget = {
      node,
      position,
      key,
      lastMove: Date.now(),
      widget: {
        getId: () => `oc.cursor.${clientId}`,
        getDomNode: () => node,
        getPosition: () => ({
          position: entry.position,
          preference: [this.monaco.editor.ContentWidgetPositionPreference.ABOVE, this.monaco.editor.ContentWidgetPositionPreference.BELOW],
        }),
      },
    };
    this.widgets.set(clientId, entry);
    this.editor.addContentWidget(entry.widget);
  }

  /** The pointer on (or next to) a remote caret shows whose it is. */
  private revealNear(position: Monaco.IPosition | null) {
    if (!position) return;
    this.widgets.forEach((w) => {
      if (w.position.lineNumber === position.lineNumber && Math.abs(w.position.column - position.column) <= 1) {
        w.lastMove = Date.now();
        w.node.classList.remove('oc-label-idle');
      }
    });
  }

  private updateIdle() {
    const now = Date.now();
    this.widgets.forEach((w) => {
      const idle = now - w.lastMove > LABEL_SHOWN_MS;
      w.node.classList.toggle('oc-label-idle', idle);
    });
  }
}
