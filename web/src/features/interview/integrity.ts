// What a candidate's client reports for the interviewers' integrity timeline (issue 13 §5): pastes
// and large insertions into a file (their size in UTF-16 code units and the file, never the
// text), and the window losing or regaining focus. Only the candidate's client reports; the
// server refuses anyone else's. Pure parts (counting, deciding, de-duplicating) are exported for
// the unit tests; `watchFileInsertions` and `watchFocus` attach them to a Y.Text and a window.
import type * as Y from 'yjs';

/** One local change inserting more than this many characters into a file is a large insertion. */
export const LARGE_INSERT_CHARS = 200;

export type IntegrityReport =
  | { type: 'integrity'; kind: 'paste' | 'largeInsert'; chars: number; fileId: number }
  | { type: 'integrity'; kind: 'focusLost' | 'focusRegained' };

export type SendReport = (report: IntegrityReport) => void;

/** Characters (UTF-16 code units, as JavaScript counts them) a Y.Text delta inserts. */
export function insertedChars(delta: readonly { insert?: unknown }[]): number {
  let chars = 0;
  for (const op of delta) if (typeof op.insert === 'string') chars += op.insert.length;
  return chars;
}

/**
 * The report for one local change of `chars` inserted characters into file `fileId`: a paste
 * when a paste into the editor is pending (its size is what was pasted), a large insertion
 * past the threshold, else nothing.
 */
export function reportForInsertion(
  fileId: number,
  chars: number,
  pastedChars: number | null,
  threshold = LARGE_INSERT_CHARS,
): IntegrityReport | null {
  if (pastedChars != null && pastedChars > 0) return { type: 'integrity', kind: 'paste', chars: pastedChars, fileId };
  if (chars > threshold) return { type: 'integrity', kind: 'largeInsert', chars, fileId };
  return null;
}

/**
 * Report pastes and large insertions made through `origin` (the editor binding: remote changes
 * and undo have other origins) into `ytext`, the text of file `fileId`. `takePaste` returns the
 * size of a paste into the editor not yet accounted for, and forgets it.
 */
export function watchFileInsertions(
  ytext: Y.Text,
  origin: unknown,
  fileId: number,
  takePaste: () => number | null,
  send: SendReport,
): () => void {
  const observer = (event: Y.YTextEvent, txn: Y.Transaction) => {
    if (txn.origin !== origin) return;
    const chars = insertedChars(event.delta as { insert?: unknown }[]);
    if (chars === 0) return;
    const report = reportForInsertion(fileId, chars, takePaste());
    if (report) send(report);
  };
  ytext.observe(observer);
  return () => ytext.unobserve(observer);
}

/**
 * The paste the next local change comes from: set by the editor's DOM `paste` event, which the
 * editor turns into its change during the same event dispatch. A paste that changed nothing (a
 * read-only editor) is forgotten once the dispatch is over, so it is never pinned on a later
 * keystroke.
 */
export class PendingPaste {
  private chars: number | null = null;

  constructor(private readonly later: (forget: () => void) => void = (forget) => setTimeout(forget, 0)) {}

  /** A paste of `text` into the editor. */
  pasted(text: string) {
    this.chars = text.length;
    this.later(this.take);
  }

  take = (): number | null => {
    const chars = this.chars;
    this.chars = null;
    return chars;
  };
}

/**
 * Focus transitions, each reported once: the window counts as away while it is blurred or the
 * page is hidden, and back once it is both focused and visible again.
 */
export class FocusTracker {
  private away = false;

  constructor(private readonly send: SendReport) {}

  /** The window's state now; reports a change of away/back. */
  update(focused: boolean, visible: boolean) {
    const away = !focused || !visible;
    if (away === this.away) return;
    this.away = away;
    this.send({ type: 'integrity', kind: away ? 'focusLost' : 'focusRegained' });
  }
}

/** Report focus lost / regained of `win` (blur, focus, visibility changes). */
export function watchFocus(win: Window, send: SendReport): () => void {
  const tracker = new FocusTracker(send);
  let focused = win.document.hasFocus();
  const visible = () => win.document.visibilityState === 'visible';
  const onBlur = () => {
    focused = false;
    tracker.update(focused, visible());
  };
  const onFocus = () => {
    focused = true;
    tracker.update(focused, visible());
  };
  const onVisibility = () => tracker.update(focused, visible());
  win.addEventListener('blur', onBlur);
  win.addEventListener('focus', onFocus);
  win.document.addEventListener('visibilitychange', onVisibility);
  return () => {
    win.removeEventListener('blur', onBlur);
    win.removeEventListener('focus', onFocus);
    win.document.removeEventListener('visibilitychange', onVisibility);
  };
}

/**
 * The candidate's reporter for one editor: files' local insertions, pastes into the editor and
 * the window's focus. `enabled` is read at every report, so a role change takes effect at once.
 */
export class IntegrityReporter {
  private readonly paste = new PendingPaste();

  constructor(
    private readonly send: SendReport,
    private readonly enabled: () => boolean,
  ) {}

  private report = (report: IntegrityReport) => {
    if (this.enabled()) this.send(report);
  };

  /** The editor's DOM saw a paste of `text`. */
  pasted(text: string) {
    if (this.enabled()) this.paste.pasted(text);
  }

  watchFile(ytext: Y.Text, origin: unknown, fileId: number): () => void {
    return watchFileInsertions(ytext, origin, fileId, this.paste.take, this.report);
  }

  watchWindow(win: Window): () => void {
    return watchFocus(win, this.report);
  }
}

/** A stored report as interviewers read it (server `interviews::integrity::IntegrityEvent`). */
export interface IntegrityEvent {
  at: number;
  userId: number | null;
  userName: string | null;
  kind: string;
  chars?: number | null;
  fileId?: number | null;
  file?: string | null;
}

export interface IntegrityTimeline {
  events: IntegrityEvent[];
  /** The pad's limit was reached: later reports were not kept. */
  capped: boolean;
}

/** One line for a report, without who and when: "pasted 321 characters into main.py". */
export function describeIntegrity(event: { kind?: unknown; chars?: unknown; file?: unknown }): string {
  const chars = typeof event.chars === 'number' ? event.chars.toLocaleString('en') : '?';
  const into = typeof event.file === 'string' ? ` into ${event.file}` : '';
  switch (event.kind) {
    case 'paste':
      return `pasted ${chars} characters${into}`;
    case 'largeInsert':
      return `inserted ${chars} characters at once${into}`;
    case 'focusLost':
      return 'left the pad (window blurred or hidden)';
    case 'focusRegained':
      return 'came back to the pad';
    default:
      return String(event.kind ?? 'unknown');
  }
}
